import { createConnection, createServer } from "node:net"

/** Whether something accepts a TCP connection at host:port. */
export const answers = (host: string, port: number, timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: timeoutMs })
    const settle = (open: boolean) => {
      socket.destroy()
      resolve(open)
    }
    socket.once("connect", () => settle(true))
    socket.once("timeout", () => settle(false))
    socket.once("error", () => settle(false))
  })

/** A loopback port nothing listens on now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no free port"))))
    })
  })
