/**
 * Reads SSH wire-format values (RFC 4251 §5) from a buffer: the encoding of public keys,
 * certificates, signatures and key-exchange messages. Every read checks its bounds and throws
 * `MalformedWire`, so a hostile or truncated blob can never read past its end.
 */
export class MalformedWire extends Error {}

export class WireReader {
  private offset = 0;

  constructor(private readonly data: Buffer) {}

  get position(): number {
    return this.offset;
  }

  get atEnd(): boolean {
    return this.offset === this.data.length;
  }

  byte(): number {
    this.need(1);
    return this.data[this.offset++] as number;
  }

  uint32(): number {
    this.need(4);
    const value = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): bigint {
    this.need(8);
    const value = this.data.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): Buffer {
    return this.bytes(this.uint32());
  }

  text(): string {
    return this.string().toString('utf8');
  }

  /** A comma-separated name-list (KEXINIT's algorithm lists). */
  nameList(): string[] {
    const text = this.string().toString('latin1');
    return text === '' ? [] : text.split(',');
  }

  /** The rest of the buffer: for values whose layout is read by someone else. */
  rest(): Buffer {
    const value = this.data.subarray(this.offset);
    this.offset = this.data.length;
    return value;
  }

  private need(length: number): void {
    if (this.offset + length > this.data.length) {
      throw new MalformedWire(`truncated at byte ${this.offset} (needs ${length} more)`);
    }
  }
}

/** SSH wire-format writers: `string` is a uint32 length and the bytes. */
export function wireString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

export function wireUint32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32BE(value, 0);
  return buffer;
}
