// pgpass (the driver's own ~/.pgpass reader) ships no types.
declare module 'pgpass' {
  /** Calls back with the password of the first PGPASSFILE line matching host, port, database and user, if any. */
  export default function pgpass(connInfo: object, cb: (password: string | undefined) => void): void;
}
