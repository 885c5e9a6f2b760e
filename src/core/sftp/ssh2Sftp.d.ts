/** ssh2's SFTP client class, which sftpInternals.ts builds over an exec channel; ssh2 ships no types for it. */
declare module 'ssh2/lib/protocol/SFTP.js' {
  import type { Client, SFTPWrapper } from 'ssh2';

  interface ChannelWindow {
    id: number;
    window: number;
    packetSize: number;
    state: string;
  }

  export const SFTP: new (
    client: Client,
    channelInfo: { type: 'session'; incoming: ChannelWindow; outgoing: ChannelWindow },
    config: Record<string, never>,
  ) => SFTPWrapper;
}
