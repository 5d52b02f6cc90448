import { events } from './events';
import type { ModelDefinition } from './model';
import { persons } from './persons';
import { sessions } from './sessions';

/**
 * Every model an export can copy, by the name the API and the metadata database use. Adding a model is its file in
 * src/models/ (a ModelDefinition), its line here and a migration creating its source tables (docs/adding-a-model.md).
 */
export const MODELS = { events, persons, sessions } as const satisfies Record<string, ModelDefinition>;

export type ModelName = keyof typeof MODELS;

/** The model names, for the API's enum. */
export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];

export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(MODELS, name);
}
