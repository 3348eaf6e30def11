import { screen } from '@inquirer/testing/vitest';
import { confirm, input, select } from '@inquirer/prompts';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { Answers, PartialAnswers } from '../../src/offboarding/answers.js';
import { acknowledgementStatement, loadChecklist, offboardingChecklist, propertyOptions } from '../../src/offboarding/checklist.js';
import { askAnswers, type Prompts } from '../../src/offboarding/interactive.js';
import { ftiEntry, goodAnswers, TODAY } from '../helpers/offboarding-fixtures.js';

/** The real @inquirer prompts, rendered to @inquirer/testing's virtual screen. */
const prompts: Prompts = { input, select, confirm };

const ENTRIES = [ftiEntry(1, { media: 'paper', description: 'Printed case summaries' }), ftiEntry(2, { media: 'usb', description: 'USB stick DT-12' })];

/** What to expect on screen, and what to do: text is typed then Enter; a list is key presses. */
type Step = [RegExp, string | string[]];

async function drive(result: Promise<Answers>, steps: Step[]): Promise<Answers> {
  result.catch(() => undefined); // inspected below; keeps an early rejection from going unhandled
  for (const [i, [see, action]] of steps.entries()) {
    // The first question may come after a few awaits (e.g. resuming past answered items).
    if (i > 0 || screen.getScreen() === '') await screen.next();
    expect(screen.getScreen(), `step ${i}`).toMatch(see);
    if (typeof action === 'string') {
      screen.type(action);
      screen.keypress('enter');
    } else {
      for (const key of action) screen.keypress(key);
    }
  }
  return result;
}

const ENTER = ['enter'];

/** At the question `see`, type `wrong`, see it refused with `refusal`, erase it and answer `right`. */
async function refusedThenCorrected(see: RegExp, wrong: string, refusal: string, right: string): Promise<void> {
  await screen.next();
  expect(screen.getScreen()).toMatch(see);
  screen.type(wrong);
  screen.keypress('enter');
  await screen.next();
  expect(screen.getScreen()).toContain(refusal);
  for (let i = 0; i < wrong.length; i++) screen.keypress('backspace');
  screen.type(right);
  screen.keypress('enter');
}

const personSteps = (who: RegExp, p: { name: string; title: string; organization: string; location: string; phone: string }): Step[] => [
  [new RegExp(`${who.source}: name`), p.name],
  [new RegExp(`${who.source}: title`), p.title],
  [new RegExp(`${who.source}: organisation`), p.organization],
  [new RegExp(`${who.source}: location`), p.location],
  [new RegExp(`${who.source}: phone`), p.phone],
];

const good = goodAnswers();

describe('the offboarding checklist file', () => {
  it('loads, with the tool-checked revocation item and the PS-4(1) acknowledgement', () => {
    const c = loadChecklist();
    expect(c.items.find((i) => i.id === 'revocation')).toMatchObject({ checkedBy: 'tool' });
    expect(c.items.find((i) => i.answer === 'acknowledgement')!.controls).toContain('PS-4(1)');
    expect(acknowledgementStatement(c)).toMatch(/6103.*after this detail ends/s);
    expect(propertyOptions(c).map((p) => p.id)).toEqual(['badge', 'laptop', 'tokens']);
    expect(offboardingChecklist()).toEqual(c);
  });
});

describe('askAnswers', () => {
  const paperDestroyed: Step[] = [
    [/F-0001 "Printed case summaries" \(paper, received 2025-03-01\): returned to the source, or destroyed\?/, ENTER],
    [/F-0001 .*technique \(Destroy of paper\)[\s\S]*cross-cut-shred[\s\S]*disintegrate[\s\S]*incinerate[\s\S]*pulp[\s\S]*mulch/, ENTER], // cross-cut-shred
    [/F-0001 .*particle size, with its unit \(1 mm x 5 mm or finer\)/, '1 mm x 5 mm'],
    [/F-0001 .*tool used/, 'Intimus 007 S'],
    [/F-0001 .*tool version/, ENTER],
    [/F-0001 .*date destroyed/, '2025-06-05'],
    [/F-0001 .*verified by/, 'Sam Ortiz'],
    [/F-0001 .*verifier's title/, 'Security Officer'],
    [/F-0001 .*verification method/, ENTER], // full
    [/F-0001 .*destination/, ENTER], // recycling facility
  ];
  const usbReturned: Step[] = [
    [/F-0002 "USB stick DT-12" \(USB flash drive.*returned to the source, or destroyed\?/, ['down', 'enter']],
    [/F-0002 .*date returned/, ENTER], // today
    [/F-0002 .*receipt/, 'Receipt R-77'],
  ];
  const property: Step[] = [
    [/Returned: Identification badge/, ENTER],
    [/Returned: Laptop/, ENTER],
    [/Returned: Authentication tokens/, 'n'],
    [/Any other property returned/, 'parking permit'],
  ];
  const performerSigns: Step[] = [[/Person performing the return or destruction: date signed/, ENTER]]; // today
  const validatorSigns: Step[] = [[/Validating official: date signed/, ENTER]];
  const acknowledgement: Step[] = [
    [/The detailee acknowledges: .*6103/s, 'y'],
    [/Acknowledgement signed on/, ENTER],
  ];

  it('walks every item in checklist order, saving after each answer, and returns checked answers', async () => {
    const saved: PartialAnswers[] = [];
    const answers = await drive(askAnswers(ENTRIES, {}, prompts, { today: TODAY, onProgress: (p) => void saved.push(p) }), [
      ...personSteps(/Person performing the return or destruction/, good.performedBy),
      ...paperDestroyed,
      ...usbReturned,
      ...performerSigns,
      ...property,
      ...acknowledgement,
      ...personSteps(/Validating official/, good.validatedBy),
      ...validatorSigns,
    ]);
    expect(answers.performedBy).toEqual({ ...good.performedBy, signedOn: TODAY });
    expect(answers.validatedBy).toEqual({ ...good.validatedBy, signedOn: TODAY });
    expect(answers.dispositions).toEqual([
      {
        entry: 'F-0001',
        action: 'destroyed',
        method: 'Destroy',
        technique: 'cross-cut-shred',
        particleSize: '1 mm x 5 mm',
        tool: { name: 'Intimus 007 S' },
        date: '2025-06-05',
        verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' },
        verification: 'full',
        destination: 'recycling facility',
        backedUp: 'unknown',
      },
      { entry: 'F-0002', action: 'returned', destination: 'returned to source', date: TODAY, receipt: 'Receipt R-77', verification: 'full', backedUp: 'unknown' },
    ]);
    expect(answers.propertyReturned).toEqual(['badge', 'laptop', 'parking permit']);
    expect(answers.acknowledgement).toEqual({ signedOn: TODAY });
    // Saved after each answer (a few prompts, like a tool's name and version, are saved together).
    expect(saved.length).toBeGreaterThan(20);
    expect(saved[0]).toEqual({ performedBy: { name: 'Pat Lee' } });
    expect(saved.at(-1)!.validatedBy).toMatchObject({ phone: good.validatedBy.phone, signedOn: TODAY });
  });

  it('resumes from saved progress, asking only what is missing', async () => {
    const partial: PartialAnswers = {
      performedBy: good.performedBy,
      dispositions: [{ entry: 'F-0001', action: 'destroyed', method: 'Destroy', technique: 'incinerate', tool: { name: 'burn barrel' }, date: '2025-06-05' }],
    };
    const answers = await drive(askAnswers(ENTRIES, partial, prompts, { today: TODAY }), [
      [/F-0001 .*verified by/, 'Sam Ortiz'],
      [/F-0001 .*verifier's title/, 'Security Officer'],
      [/F-0001 .*verification method/, ['down', 'enter']], // sampling
      [/F-0001 .*destination/, ENTER],
      ...usbReturned,
      ...performerSigns,
      ...property,
      ...acknowledgement,
      ...personSteps(/Validating official/, good.validatedBy),
      ...validatorSigns,
    ]);
    expect(answers.dispositions[0]).toMatchObject({ technique: 'incinerate', verification: 'sampling' });
  });

  it('refuses, at the prompt, a verifier who performed the work', async () => {
    const partial: PartialAnswers = { ...structuredClone(good), dispositions: [good.dispositions[0]!, { entry: 'F-0002', action: 'destroyed', method: 'Destroy', technique: 'disintegrate', tool: { name: 'SEM 0101' }, date: '2025-06-05' }] };
    const result = askAnswers(ENTRIES, partial, prompts, { today: TODAY });
    result.catch(() => undefined);
    await refusedThenCorrected(/F-0002 .*verified by/, 'pat lee', 'The verifier must be someone other than Pat Lee.', 'Sam Ortiz');
    await screen.next();
    await drive(result, [
      [/verifier's title/, 'Security Officer'],
      [/verification method/, ENTER],
      [/destination/, ENTER],
      ...performerSigns,
      ...validatorSigns,
    ]);
    await expect(result).resolves.toMatchObject({ dispositions: [{}, { verifiedBy: { name: 'Sam Ortiz' } }] });
  });

  it('offers only the techniques the table lists for the medium, and refuses a coarse size at the prompt', async () => {
    const partial: PartialAnswers = { ...structuredClone(good), dispositions: [good.dispositions[0]!] };
    const result = askAnswers(ENTRIES, partial, prompts, { today: TODAY });
    result.catch(() => undefined);
    await screen.next();
    expect(screen.getScreen()).toMatch(/F-0002 .*returned to the source, or destroyed\?/);
    screen.keypress('enter'); // destroyed; a USB drive has Destroy only, so no method question
    await screen.next();
    const techniques = screen.getScreen();
    expect(techniques).toMatch(/F-0002 .*technique \(Destroy of USB flash drive or memory card\)/);
    expect(techniques).toContain('shred');
    expect(techniques).not.toContain('degauss');
    expect(techniques).not.toContain('overwrite');
    screen.keypress('enter'); // shred
    await screen.next();
    const answers = await drive(result, [
      [/F-0002 .*tool used/, 'SEM 0101'],
      [/F-0002 .*tool version/, ENTER],
      [/F-0002 .*date destroyed/, ENTER],
      [/F-0002 .*verified by/, 'Sam Ortiz'],
      [/F-0002 .*verifier's title/, 'Security Officer'],
      [/F-0002 .*verification method/, ENTER],
      [/F-0002 .*destination(?![\s\S]*reuse)/, ENTER],
      ...performerSigns,
      ...validatorSigns,
    ]);
    expect(answers.dispositions[1]).toMatchObject({ method: 'Destroy', technique: 'shred', destination: 'recycling facility' });
  });

  it('refuses a particle size in the wrong unit or coarser than 1 mm x 5 mm at the prompt', async () => {
    const partial: PartialAnswers = { ...structuredClone(good), dispositions: [{ entry: 'F-0001', action: 'destroyed' }] };
    const result = askAnswers(ENTRIES.slice(0, 1), partial, prompts, { today: TODAY });
    result.catch(() => undefined);
    await screen.next();
    screen.keypress('enter'); // cross-cut-shred
    await refusedThenCorrected(/particle size/, '1x5 cm', 'That is coarser than 1 mm x 5 mm', '0.8 mm x 4 mm');
    await screen.next();
    const answers = await drive(result, [
      [/tool used/, 'Intimus 007 S'],
      [/tool version/, ENTER],
      [/date destroyed/, ENTER],
      [/verified by/, 'Sam Ortiz'],
      [/verifier's title/, 'Security Officer'],
      [/verification method/, ENTER],
      [/destination/, ENTER],
      ...performerSigns,
      ...validatorSigns,
    ]);
    expect(answers.dispositions[0]).toMatchObject({ technique: 'cross-cut-shred', particleSize: '0.8 mm x 4 mm' });
  });

  it('shows a broken rule of resumed answers (free text of an earlier version) and asks the disposition again', async () => {
    const old = {
      entry: 'F-0002',
      action: 'destroyed' as const,
      method: 'Purge' as const,
      technique: 'de-gauss',
      tool: { name: 'Garner HD-3' },
      date: '2025-06-05',
      verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' },
      destination: 'internal reuse' as const,
    };
    const partial: PartialAnswers = { ...structuredClone(good), dispositions: [good.dispositions[0]!, old] };
    const answers = await drive(askAnswers(ENTRIES, partial, prompts, { today: TODAY }), [
      [/Not accepted: technique "de-gauss" is not a term of the vocabulary; accepted for usb: shred \(Destroy\).*F-0002 .*returned to the source, or destroyed\?/s, ['down', 'enter']],
      [/F-0002 .*date returned/, ENTER],
      [/F-0002 .*receipt/, 'Receipt R-78'],
      ...performerSigns,
      ...validatorSigns,
    ]);
    expect(answers.dispositions[1]).toMatchObject({ action: 'returned', receipt: 'Receipt R-78' });
    expect(answers.dispositions[1]!.method).toBeUndefined();
  });

  it('asks each signature date after the work it attests, refusing one before the work or before the performer', async () => {
    const returned = { entry: 'F-0002', action: 'returned' as const, date: '2025-06-03', receipt: 'Receipt R-79' };
    const partial: PartialAnswers = { ...structuredClone(good), dispositions: [good.dispositions[0]!, returned] };
    const result = askAnswers(ENTRIES, partial, prompts, { today: TODAY });
    result.catch(() => undefined);
    // The paper was shredded on 2025-06-05.
    await refusedThenCorrected(/Person performing the return or destruction: date signed/, '2025-06-04', 'That is before the work it certifies (2025-06-05).', '2025-06-05');
    await screen.next();
    const answers = await drive(result, [[/Validating official: date signed/, '2025-06-05']]);
    expect(answers.performedBy.signedOn).toBe('2025-06-05');
    expect(answers.validatedBy.signedOn).toBe('2025-06-05');
  });

  it('stops with exit 2 when the detailee does not acknowledge', async () => {
    const { acknowledgement: _, ...rest } = structuredClone(good);
    const dated = { ...rest, performedBy: { ...rest.performedBy, signedOn: TODAY } };
    const result = askAnswers(ENTRIES.slice(0, 1), { ...dated, dispositions: [good.dispositions[0]!] }, prompts, { today: TODAY });
    result.catch(() => undefined);
    await screen.next();
    expect(screen.getScreen()).toMatch(/The detailee acknowledges/);
    screen.type('n');
    screen.keypress('enter');
    const err = await result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('answers.acknowledgement');
  });
});
