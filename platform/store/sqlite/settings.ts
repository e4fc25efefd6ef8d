import type { SettingsStore } from '../types.js';
import type { Db } from './open.js';

export const SETTINGS_SCHEMA = [
  'CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
] as const;

export function sqliteSettingsStore(db: Db): SettingsStore {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
  const insert = db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)');
  return {
    get: async (key) => get.get(key)?.value ?? null,
    putIfAbsent: async (key, value) => {
      insert.run(key, value);
      return get.get(key)!.value;
    },
  };
}
