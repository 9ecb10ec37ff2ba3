/**
 * Settings as tests build them: the environment's configuration with some settings replaced, read
 * and checked exactly as at start (the same schema, defaults and messages), whole or as one slice.
 */
import { Effect, Layer } from "effect"
import { AppConfig, type AppSettings, readSettings } from "../../src/app/AppConfig.ts"
import { AuditSettings } from "../../src/infra/audit/AuditSettings.ts"
import { StoreSettings } from "../../src/infra/StoreSettings.ts"

export const configLayer = (overrides: Partial<AppSettings> = {}) => Layer.effect(AppConfig, readSettings(overrides))

export const storeSettingsLayer = (overrides: Partial<AppSettings> = {}) =>
  Layer.unwrap(Effect.map(readSettings(overrides), StoreSettings.layerFrom))

export const auditSettingsLayer = (overrides: Partial<AppSettings> = {}) =>
  Layer.unwrap(Effect.map(readSettings(overrides), AuditSettings.layerFrom))
