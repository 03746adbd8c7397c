import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
// Loaded when the first SSH connection is made: only ssh:// hosts need ssh2 (and its crypto).
import type { Client, ConnectConfig } from 'ssh2';

/**
 * An HTTP agent that reaches a Docker daemon over SSH the way the docker CLI does: one SSH
 * connection per endpoint, and on it one `docker system dial-stdio` channel per HTTP connection,
 * kept alive between requests. docker-modem's own SSH transport opens a new SSH connection (a
 * handshake and a login, and a new `docker` process on the host) for every API request; a
 * `serve status` makes several, so that dominated its time on an `ssh://` host.
 *
 * The SSH connection does not keep the process alive while no request is in flight (its socket
 * is unreferenced then), so a CLI exits as soon as it is done. Channels are SSH sessions, which
 * sshd limits (`MaxSessions`, 10 by default): at most {@link MAX_CHANNELS} on one connection;
 * more requests at once open another connection.
 */
export class SshDialAgent extends http.Agent {
  /** SSH connections, each with the channels open on it. */
  private readonly connections: SshConnection[] = [];
  /** Channels serving a request now; the SSH sockets are referenced while there are any. */
  private active = 0;

  constructor(private readonly config: ConnectConfig) {
    super({ keepAlive: true, maxFreeSockets: MAX_CHANNELS });
  }

  /**
   * Node's Agent asks for a new connection: a new dial-stdio channel, on an SSH connection with
   * room for it (a new one when all are full: Node opens connections for parallel requests
   * before it counts them, so more than {@link MAX_CHANNELS} can be asked for at once).
   */
  override createConnection(_options: unknown, callback: (error: Error | null, socket?: Duplex) => void): undefined {
    const connection = this.connections.find((c) => !c.closed && c.channels < MAX_CHANNELS) ?? this.connect();
    connection.channels++;
    this.busy(+1);
    const failed = (error: Error) => {
      connection.channels--;
      this.busy(-1);
      callback(error);
    };
    connection.client.then(
      (client) =>
        client.exec('docker system dial-stdio', (error, channel) => {
          if (error) failed(error);
          else callback(null, this.adapt(channel, connection));
        }),
      failed,
    );
    return undefined;
  }

  /** End the SSH connections (and every channel on them). */
  override destroy(): void {
    super.destroy();
    for (const c of this.connections.splice(0)) {
      c.closed = true;
      void c.client.then((client) => client.end()).catch(() => {});
    }
  }

  private connect(): SshConnection {
    const connection: SshConnection = { channels: 0, closed: false, client: undefined as unknown as Promise<Client> };
    const forget = () => {
      connection.closed = true;
      const i = this.connections.indexOf(connection);
      if (i >= 0) this.connections.splice(i, 1);
    };
    const open = (ssh2: typeof import('ssh2')) =>
      new Promise<Client>((resolve, reject) => {
        const client = new ssh2.Client();
        client
          .once('ready', () => {
            // ssh2 made the TCP socket; it is referenced only while requests are in flight.
            connection.socket = (client as unknown as { _sock?: Socket })._sock;
            this.refresh();
            resolve(client);
          })
          .once('error', (error) => {
            forget();
            reject(error);
          })
          // A later request logs in again.
          .once('close', forget);
        client.connect(this.config);
      });
    connection.client = loadSsh2().then(open, (error: unknown) => {
      forget();
      throw error;
    });
    // Failures reach the request that asked (and each later one, until it is forgotten).
    connection.client.catch(() => {});
    this.connections.push(connection);
    return connection;
  }

  /**
   * An SSH channel as the socket Node's HTTP client and Agent expect: the socket methods a
   * keep-alive agent calls, with `ref`/`unref` counting the requests in flight.
   */
  private adapt(channel: Duplex, connection: SshConnection): Duplex {
    let inUse = true;
    const socket = channel as Duplex & Record<string, unknown>;
    socket.ref = () => {
      if (!inUse) {
        inUse = true;
        this.busy(+1);
      }
      return socket;
    };
    socket.unref = () => {
      if (inUse) {
        inUse = false;
        this.busy(-1);
      }
      return socket;
    };
    socket.setKeepAlive = () => socket;
    socket.setNoDelay = () => socket;
    socket.setTimeout = () => socket;
    channel.once('close', () => {
      connection.channels--;
      if (inUse) {
        inUse = false;
        this.busy(-1);
      }
    });
    return channel;
  }

  private busy(delta: number): void {
    this.active += delta;
    this.refresh();
  }

  private refresh(): void {
    for (const c of this.connections) {
      if (this.active > 0) c.socket?.ref();
      else c.socket?.unref();
    }
  }
}

interface SshConnection {
  client: Promise<Client>;
  /** The TCP socket, once logged in. */
  socket?: Socket;
  /** Channels open on it (or being opened). */
  channels: number;
  closed: boolean;
}

/** Channels (SSH sessions) on one SSH connection at most; below sshd's default MaxSessions of 10. */
export const MAX_CHANNELS = 8;

/** ssh2 (CommonJS), loaded once. */
let ssh2Module: Promise<typeof import('ssh2')> | undefined;
function loadSsh2(): Promise<typeof import('ssh2')> {
  ssh2Module ??= import('ssh2').then((m) => ((m as { Client?: unknown }).Client ? m : ((m as { default: typeof import('ssh2') }).default)));
  return ssh2Module;
}
