import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy the test steers, put between the tool and a server (moto) to make the
 * network fail the ways real ones do:
 * - `pass`: bytes flow both ways;
 * - `refuse`: nothing listens on the port (a connect gets ECONNREFUSED), and open connections
 *   are closed, so a kept-alive socket cannot carry on as if nothing happened;
 * - `reset`: a connection that sends anything is answered with a TCP RST;
 * - `delay`: requests are held `holdMs` before they are passed on, longer than the client waits.
 */
export type ProxyMode = 'pass' | 'refuse' | 'reset' | 'delay';

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  readonly mode: ProxyMode;
  /** Connections accepted so far (to show the tool really went through the proxy). */
  readonly accepted: number;
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** How long `delay` holds a request; must exceed the client's timeout. */
  holdMs?: number;
}

export async function startTcpProxy(upstreamPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const holdMs = options.holdMs ?? 5_000;
  let mode: ProxyMode = 'pass';
  let accepted = 0;
  let port = 0;
  let closed = false;
  const open = new Set<Socket>();

  const onConnection = (client: Socket) => {
    accepted++;
    open.add(client);
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort });
    open.add(upstream);
    const timers = new Set<NodeJS.Timeout>();
    const teardown = () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', teardown);
    upstream.on('close', teardown);
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'pass' || mode === 'delay') client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      switch (mode) {
        case 'pass':
          upstream.write(chunk);
          return;
        case 'reset':
          client.resetAndDestroy();
          upstream.destroy();
          return;
        case 'delay': {
          const t = setTimeout(() => {
            timers.delete(t);
            if (!client.destroyed && !upstream.destroyed) upstream.write(chunk);
          }, holdMs);
          timers.add(t);
          return;
        }
        case 'refuse':
          // Only a connection accepted in the instant before the switch lands here.
          teardown();
          return;
      }
    });
  };

  let server: Server | undefined;

  async function listen(): Promise<void> {
    const s = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      // The first listen picks a free port; later ones take the same port back.
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    const addr = s.address();
    port = typeof addr === 'object' && addr ? addr.port : port;
    server = s;
  }

  async function unlisten(): Promise<void> {
    const s = server;
    server = undefined;
    for (const sock of open) sock.destroy();
    open.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  await listen();

  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    async setMode(next) {
      if (closed) throw new Error('the proxy is closed');
      const wasListening = server !== undefined;
      mode = next;
      if (next === 'refuse' && wasListening) await unlisten();
      else if (next !== 'refuse' && !wasListening) await listen();
    },
    async close() {
      closed = true;
      await unlisten();
    },
  };
}
