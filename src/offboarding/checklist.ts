import { join } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../package-root.js';
import { parseYamlOrJson, validate } from '../validation.js';
import { readTextFile } from '../text-file.js';
import { textField } from './fields.js';

export function templatePath(...parts: string[]): string {
  return join(packageRoot(), 'templates', ...parts);
}

const ANSWER_KEYS = ['performedBy', 'dispositions', 'propertyReturned', 'acknowledgement', 'validatedBy'] as const;

const itemSchema = z.strictObject({
  id: z.string().regex(/^[a-z][A-Za-z0-9-]*$/, { error: 'must be a short identifier' }),
  title: textField(300),
  checkedBy: z.enum(['tool', 'answers']),
  answer: z.enum(ANSWER_KEYS).optional(),
  forEach: z.literal('ftiEntry').optional(),
  controls: z.array(textField(60)).default([]),
  description: textField(2000).optional(),
  statement: textField(4000).optional(),
  property: z.array(z.strictObject({ id: textField(40), label: textField(200) })).min(1).optional(),
});

const checklistSchema = z
  .strictObject({
    apiVersion: z.literal('detailee/v1'),
    kind: z.literal('Checklist'),
    id: textField(60),
    title: textField(300),
    items: z.array(itemSchema).min(1),
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    c.items.forEach((item, i) => {
      if (ids.has(item.id)) ctx.addIssue({ code: 'custom', path: ['items', i, 'id'], message: `duplicate item id ${item.id}` });
      ids.add(item.id);
      if (item.checkedBy === 'answers' && item.answer === undefined) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'answer'], message: 'an item checked by answers must name its answer' });
      }
    });
    if (!c.items.some((i) => i.checkedBy === 'tool' && i.id === 'revocation')) {
      ctx.addIssue({ code: 'custom', path: ['items'], message: 'the revocation item (checkedBy: tool) must stay' });
    }
    for (const key of ANSWER_KEYS) {
      if (!c.items.some((i) => i.answer === key)) ctx.addIssue({ code: 'custom', path: ['items'], message: `an item answering ${key} must stay` });
    }
    const ack = c.items.find((i) => i.answer === 'acknowledgement');
    if (ack && ack.statement === undefined) ctx.addIssue({ code: 'custom', path: ['items'], message: 'the acknowledgement item needs its statement' });
    const prop = c.items.find((i) => i.answer === 'propertyReturned');
    if (prop && prop.property === undefined) ctx.addIssue({ code: 'custom', path: ['items'], message: 'the property item needs its property list' });
  });

export type Checklist = z.output<typeof checklistSchema>;

function checklistPath(): string {
  return templatePath('checklists', 'offboarding.yaml');
}

export function loadChecklist(path: string = checklistPath()): Checklist {
  const { text } = readTextFile(path, 'checklist');
  return validate(checklistSchema, parseYamlOrJson(text, `checklist ${path}`), `The checklist ${path}`, 'checklist.invalid');
}

let cached: Checklist | undefined;

/** The packaged offboarding checklist, read once per process. */
export function offboardingChecklist(): Checklist {
  cached ??= loadChecklist();
  return cached;
}

export function acknowledgementStatement(checklist: Checklist): string {
  return checklist.items.find((i) => i.answer === 'acknowledgement')!.statement!;
}

export function propertyOptions(checklist: Checklist): { id: string; label: string }[] {
  return checklist.items.find((i) => i.answer === 'propertyReturned')!.property!;
}
