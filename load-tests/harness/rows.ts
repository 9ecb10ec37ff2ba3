import pg from "pg"

/** Rows in `table` of the database at `url`. */
export const countRows = async (url: string, table: string): Promise<number> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const result = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
    return result.rows[0]?.n ?? 0
  } finally {
    await client.end()
  }
}
