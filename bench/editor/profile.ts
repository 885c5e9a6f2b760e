import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, relative, resolve } from 'node:path';

import { PROJECT_ROOT } from '../../test/support/codeServer';

/** The parts of a V8 `.cpuprofile` the summary reads. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
      readonly columnNumber: number;
    };
  }>;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** The WHATWG WebSocket Node 20 has behind --experimental-websocket (global from Node 22). */
interface WebSocketLike {
  send(data: string): void;
  close(): void;
  addEventListener(type: 'open' | 'error' | 'close', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}
type WebSocketConstructor = new (url: string) => WebSocketLike;

/** A minimal Chrome DevTools Protocol client over one WebSocket. */
export class CdpSession {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(private readonly socket: WebSocketLike) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id === undefined) {
        return; // an event
      }
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error !== undefined) {
        waiter?.reject(new Error(message.error.message));
      } else {
        waiter?.resolve(message.result);
      }
    });
  }

  static connect(url: string): Promise<CdpSession> {
    const WebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocket === undefined) {
      throw new Error(
        'no WebSocket in this Node: run it with --experimental-websocket (scripts/bench.sh does)',
      );
    }
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.addEventListener('open', () => resolve(new CdpSession(socket)));
      socket.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${url}`)));
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * The top functions by self time, with file:line. Frames in the extension's bundle are mapped through
 * its source map to the project's sources (src/..., node_modules/ssh2/...).
 */
export function summarize(profile: CpuProfile, bundleMap: string, top: number): string {
  const map = new SourceMap(JSON.parse(readFileSync(bundleMap, 'utf8')) as SourceMapPayload);
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  let total = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((nodeId, index) => {
    // timeDeltas[i] is the time before sample i; the time after it is the next delta.
    const us = deltas[index + 1] ?? 0;
    total += us;
    const frame = byNode.get(nodeId)?.callFrame;
    if (frame === undefined) {
      return;
    }
    const key = `${frame.functionName || '(anonymous)'}\t${where(frame, map, dirname(bundleMap))}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  });
  const lines = [
    `| self ms | self % | function | where |`,
    `| ---: | ---: | --- | --- |`,
    ...[...selfUs]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => {
        const [name, at] = key.split('\t');
        return `| ${(us / 1000).toFixed(1)} | ${((100 * us) / total).toFixed(1)} | ${name} | ${at} |`;
      }),
  ];
  return `${lines.join('\n')}\n(total ${(total / 1000).toFixed(0)} ms sampled)`;
}

function where(
  frame: { readonly url: string; readonly lineNumber: number; readonly columnNumber: number },
  map: SourceMap,
  mapDir: string,
): string {
  if (frame.url === '') {
    return '';
  }
  if (/sftp-fs\.sftp-fs-[^/]+\/dist\/extension\.js$/.test(frame.url)) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
      originalSource?: string;
      originalLine?: number;
    };
    if (entry.originalSource !== undefined && entry.originalLine !== undefined) {
      const source = resolve(mapDir, entry.originalSource.replace(/^file:\/\//, ''));
      const modules = source.lastIndexOf('/node_modules/');
      const shown = modules >= 0 ? source.slice(modules + 1) : relative(PROJECT_ROOT, source);
      return `${shown}:${entry.originalLine + 1}`;
    }
  }
  const path = frame.url.replace(/^file:\/\//, '');
  const short = path.includes('/lib/vscode/') ? `vscode/${path.split('/lib/vscode/')[1] ?? ''}` : path;
  return `${short}:${frame.lineNumber + 1}`;
}
