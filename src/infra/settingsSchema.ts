/**
 * The process's configuration as one schema. Each setting names the environment variable it is read
 * from, its default, what it means (the operations guide's table lists exactly these) and its bounds;
 * each component declares the settings it uses (its slice) and the app puts the slices together.
 * The whole is read and checked once, at start, and every problem is reported at once, each message
 * naming its variable: "SHARD_COUNT must be a positive integer, got 0".
 */
import { Config, Option, Result, Schema } from "effect"

export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  message: Schema.String
}) {}

interface SettingInfo<A> {
  /** Read from this environment variable; an empty one counts as unset. */
  readonly variable: string
  readonly defaultValue: A
  /** What it does, as the operations guide's table says it. */
  readonly meaning: string
  /** The default as that table shows it. */
  readonly shownDefault: string
  /** The value a variable's text stands for, or the problem with the text. */
  fromText(text: string): Result.Result<A, string>
  /** What is wrong with a value, read or given; empty when nothing is. */
  problemsOf(value: A): ReadonlyArray<string>
}

/** A setting is the Config that reads it (the default when its variable is unset or unreadable), with its description. */
export type Setting<A> = Config.Config<A> & SettingInfo<A>

/** Settings by the name the code knows them by. */
export type SettingsSchema = Readonly<Record<string, Setting<unknown>>>

export type SettingsOf<S extends SettingsSchema> = { readonly [K in keyof S]: S[K] extends Setting<infer A> ? A : never }

/** The variable's text, unless unset or blank. */
const textOf = (variable: string): Config.Config<Option.Option<string>> =>
  Config.option(Config.String(variable)).pipe(Config.map(Option.filter((text) => text.trim() !== "")))

const setting = <A>(info: SettingInfo<A>): Setting<A> =>
  Object.assign(
    textOf(info.variable).pipe(
      Config.map(Option.match({
        onNone: () => info.defaultValue,
        // An unreadable text is reported by `problemsOf`; meanwhile the default stands in.
        onSome: (text) => Result.getOrElse(info.fromText(text), () => info.defaultValue)
      }))
    ),
    info
  )

const withoutProblems = (): ReadonlyArray<string> => []

const describeRange = (min: number, max: number | undefined): string =>
  max !== undefined
    ? `an integer from ${min} to ${max}`
    : min === 1
    ? "a positive integer"
    : min === 0
    ? "0 or a positive integer"
    : `an integer of at least ${min}`

/** A whole number from `min` (default 1) up to `max` (default: none). */
export const integer = (
  variable: string,
  defaultValue: number,
  meaning: string,
  range: { readonly min?: number; readonly max?: number } = {}
): Setting<number> => {
  const min = range.min ?? 1
  const expected = describeRange(min, range.max)
  return setting({
    variable,
    defaultValue,
    meaning,
    shownDefault: `\`${defaultValue}\``,
    fromText: (text) =>
      /^\s*[+-]?\d+\s*$/.test(text) ? Result.succeed(Number(text)) : Result.fail(`${variable} must be ${expected}, got ${JSON.stringify(text)}`),
    problemsOf: (value) =>
      Number.isSafeInteger(value) && value >= min && (range.max === undefined || value <= range.max)
        ? []
        : [`${variable} must be ${expected}, got ${value}`]
  })
}

const TRUE_TEXTS = ["true", "yes", "on", "1", "y"]
const FALSE_TEXTS = ["false", "no", "off", "0", "n"]

export const flag = (variable: string, defaultValue: boolean, meaning: string): Setting<boolean> =>
  setting({
    variable,
    defaultValue,
    meaning,
    shownDefault: `\`${defaultValue}\``,
    fromText: (text) => {
      const word = text.trim().toLowerCase()
      if (TRUE_TEXTS.includes(word)) return Result.succeed(true)
      if (FALSE_TEXTS.includes(word)) return Result.succeed(false)
      return Result.fail(`${variable} must be true or false, got ${JSON.stringify(text)}`)
    },
    problemsOf: withoutProblems
  })

/**
 * Free text; `problemOf` says what is wrong with a value (naming the variable, never showing a
 * secret). The empty default shows as "unset".
 */
export const text = (
  variable: string,
  defaultValue: string,
  meaning: string,
  problemOf: (value: string) => string | undefined = () => undefined
): Setting<string> =>
  setting({
    variable,
    defaultValue,
    meaning,
    shownDefault: defaultValue === "" ? "unset" : `\`${defaultValue}\``,
    fromText: Result.succeed,
    problemsOf: (value) => {
      const problem = problemOf(value)
      return problem === undefined ? [] : [problem]
    }
  })

/** One of a few words. */
export const oneOf = <const L extends string>(variable: string, words: ReadonlyArray<L>, defaultValue: L, meaning: string): Setting<L> =>
  setting({
    variable,
    defaultValue,
    meaning,
    shownDefault: `\`${defaultValue}\``,
    fromText: (text) => {
      const word = words.find((w) => w === text.trim())
      return word === undefined ? Result.fail(`${variable} must be one of ${words.join(", ")}, got ${JSON.stringify(text)}`) : Result.succeed(word)
    },
    problemsOf: (value) => words.includes(value) ? [] : [`${variable} must be one of ${words.join(", ")}, got ${JSON.stringify(value)}`]
  })

/**
 * A comma-separated list, empty by default; blanks around items are ignored. `problemOf` says what
 * is wrong with one item (at 0-based `index`).
 */
export const list = (
  variable: string,
  meaning: string,
  problemOf: (item: string, index: number) => string | undefined = () => undefined
): Setting<ReadonlyArray<string>> =>
  setting({
    variable,
    defaultValue: [],
    meaning,
    shownDefault: "unset",
    fromText: (text) => Result.succeed(text.split(",").map((item) => item.trim()).filter((item) => item !== "")),
    problemsOf: (items) => items.flatMap((item, index) => problemOf(item, index) ?? [])
  })

/**
 * Every problem of `values` against `schema`: texts that stand for no value (`texts`: each
 * variable's text, by setting name; names in `given` were replaced, so their text does not count),
 * then values out of bounds.
 */
export const problemsOf = (
  schema: SettingsSchema,
  values: Readonly<Record<string, unknown>>,
  texts: Readonly<Record<string, Option.Option<string>>>,
  given: ReadonlyArray<string>
): ReadonlyArray<string> =>
  Object.entries(schema).flatMap(([name, setting]) => {
    const text = given.includes(name) ? Option.none() : texts[name] ?? Option.none()
    const unreadable = Option.flatMap(text, (t) => Result.getFailure(setting.fromText(t)))
    return Option.isSome(unreadable) ? [unreadable.value] : setting.problemsOf(values[name])
  })

/** Each setting's variable text, by setting name, for `problemsOf`. */
export const textsOf = (schema: SettingsSchema): Config.Config<Record<string, Option.Option<string>>> =>
  Config.all(Object.fromEntries(Object.entries(schema).map(([name, setting]) => [name, textOf(setting.variable)])))
