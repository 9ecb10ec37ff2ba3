/**
 * A TCP proxy in front of one Redis server, for tests of connections that go quiet without closing:
 * it can stop passing on what the server sends to the connections in sharded pub/sub mode, while
 * they stay open and every other connection goes on as before.
 */
import { createServer, type Socket, connect } from "node:net"

export interface TcpProxy {
  readonly port: number
  /**
   * From now on, drops what the server sends on the connections that have sent SSUBSCRIBE so far, as
   * a network that loses a peer's packets would: no close, no error, nothing arrives.
   */
  readonly silenceSubscribers: () => void
  readonly close: () => Promise<void>
}

const SSUBSCRIBE = /ssubscribe/i

export const startTcpProxy = (targetPort: number): Promise<TcpProxy> => {
  const subscribers = new Set<Socket>()
  const silenced = new WeakSet<Socket>()
  const open = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1")
    open.add(client).add(upstream)
    client.on("data", (chunk) => {
      if (SSUBSCRIBE.test(chunk.toString("latin1"))) subscribers.add(client)
      upstream.write(chunk)
    })
    upstream.on("data", (chunk) => {
      if (!silenced.has(client)) client.write(chunk)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
      subscribers.delete(client)
    }
    client.on("close", end).on("error", end)
    upstream.on("close", end).on("error", end)
  })
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (typeof address !== "object" || address === null) return reject(new Error("no port"))
      resolve({
        port: address.port,
        silenceSubscribers: () => subscribers.forEach((socket) => silenced.add(socket)),
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
}
