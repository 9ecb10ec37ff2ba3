/** Names the first of `names` whose value is not a positive safe integer; undefined when all are. */
export const firstNonPositiveInteger = <S extends object>(
  settings: S,
  names: ReadonlyArray<{ [K in keyof S]: S[K] extends number ? K : never }[keyof S] & string>
): string | undefined => {
  const invalid = names.find((name) => {
    const value = settings[name]
    return typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0
  })
  return invalid === undefined ? undefined : `${invalid} must be a positive integer, got ${String(settings[invalid])}`
}
