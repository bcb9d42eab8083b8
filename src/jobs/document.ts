/**
 * The AWS IoT Device Client's job document, both schemas, read into one
 * plan, so job templates written for the Device Client run unchanged:
 *   old: {"operation", "args"?, "path"?, "allowStdErr"?, "includeStdOut"?}
 *   new: {"version", "includeStdOut"?, "steps": [{"action": {"name", "type",
 *         "runAsUser"?, "ignoreStepFailure"?, "input": {"handler", "args"?, "path"?}}}], "finalStep"?}
 * `reboot`, `update` and `rotate` are built in and must be a job's only step.
 * Only handlers in the handler directory run: `runCommand` and other paths are refused.
 */

export interface HandlerStep {
  name: string;
  handler: string;
  args: string[];
  /** Handed to the handler as $1, as the Device Client does. */
  runAsUser: string;
  ignoreFailure: boolean;
}

export type JobPlan =
  | { kind: 'handlers'; operation: string; steps: HandlerStep[]; includeStdout: boolean }
  | { kind: 'reboot'; operation: 'reboot' }
  | { kind: 'update'; operation: 'update'; url: string }
  | { kind: 'rotate'; operation: 'rotate' };

export type ParsedDocument = { ok: true; plan: JobPlan } | { ok: false; operation: string; reason: string };

export const BUILT_IN_OPERATIONS = ['reboot', 'update', 'rotate'] as const;

// A file name in the handler directory: no path separators, no leading dot.
const HANDLER_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

class DocumentError extends Error {}

function stringArray(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new DocumentError(`${where} must be an array of strings`);
  return value;
}

/** The Device Client reads "true" (new schema, a string) and true (old schema, a boolean). */
const truthy = (value: unknown): boolean => value === true || value === 'true';

function handlerStep(name: string, input: Json, runAsUser: unknown, ignoreFailure: unknown): HandlerStep {
  const { handler, path } = input;
  if (typeof handler !== 'string' || handler === '') throw new DocumentError(`step "${name}" names no handler`);
  if (path !== undefined && path !== 'default') {
    throw new DocumentError(`step "${name}": path "${String(path)}" is refused; only handlers in the handler directory run (leave path out or use "default")`);
  }
  if (!HANDLER_NAME.test(handler)) throw new DocumentError(`step "${name}": handler "${handler}" is not a file name in the handler directory`);
  if (runAsUser !== undefined && typeof runAsUser !== 'string') throw new DocumentError(`step "${name}": runAsUser must be a string`);
  return { name, handler, args: stringArray(input.args, `step "${name}" args`), runAsUser: runAsUser ?? '', ignoreFailure: truthy(ignoreFailure) };
}

function newSchemaSteps(document: Json): HandlerStep[] {
  const steps = document.steps;
  if (!Array.isArray(steps) || steps.length === 0) throw new DocumentError('"steps" must be a non-empty array');
  const actions = [...steps, ...(document.finalStep !== undefined ? [document.finalStep] : [])];
  return actions.map((step, index) => {
    const action = isObject(step) ? step.action : undefined;
    if (!isObject(action)) throw new DocumentError(`step ${index + 1} has no "action" object`);
    const name = typeof action.name === 'string' && action.name !== '' ? action.name : `step ${index + 1}`;
    if (action.type !== 'runHandler') {
      throw new DocumentError(`step "${name}": type "${String(action.type)}" is refused; trustlink runs only "runHandler" steps from its handler directory`);
    }
    if (!isObject(action.input)) throw new DocumentError(`step "${name}" has no "input" object`);
    return handlerStep(name, action.input, action.runAsUser, action.ignoreStepFailure);
  });
}

function toPlan(document: Json): JobPlan {
  const isNew = document.steps !== undefined || document.version !== undefined;
  const steps = isNew
    ? newSchemaSteps(document)
    : (() => {
        if (typeof document.operation !== 'string' || document.operation === '') throw new DocumentError('the document names no "operation"');
        return [handlerStep(document.operation, { handler: document.operation, args: document.args, path: document.path }, undefined, false)];
      })();
  const builtIn = steps.find((step) => (BUILT_IN_OPERATIONS as readonly string[]).includes(step.handler));
  if (builtIn !== undefined) {
    if (steps.length > 1) throw new DocumentError(`"${builtIn.handler}" must be the job's only step`);
    if (builtIn.handler === 'reboot') return { kind: 'reboot', operation: 'reboot' };
    if (builtIn.handler === 'rotate') return { kind: 'rotate', operation: 'rotate' };
    const url = builtIn.args[0];
    if (url === undefined || !/^https:\/\//.test(url)) throw new DocumentError('"update" needs the image URL (https://, e.g. an ${aws:iot:s3-presigned-url:...} placeholder) as its first argument');
    return { kind: 'update', operation: 'update', url };
  }
  const first = steps[0] as HandlerStep;
  return { kind: 'handlers', operation: first.handler, steps, includeStdout: truthy(document.includeStdOut) };
}

/** The operation to show for a document, even an invalid one. */
function operationOf(document: unknown): string {
  if (!isObject(document)) return '?';
  if (typeof document.operation === 'string') return document.operation;
  const first = Array.isArray(document.steps) && isObject(document.steps[0]) && isObject(document.steps[0].action) ? document.steps[0].action : undefined;
  const handler = first && isObject(first.input) ? first.input.handler : undefined;
  return typeof handler === 'string' ? handler : '?';
}

export function parseJobDocument(document: unknown): ParsedDocument {
  const operation = operationOf(document).slice(0, 128);
  if (!isObject(document)) return { ok: false, operation, reason: 'the job document is not a JSON object' };
  try {
    return { ok: true, plan: toPlan(document) };
  } catch (error) {
    if (error instanceof DocumentError) return { ok: false, operation, reason: error.message };
    throw error;
  }
}
