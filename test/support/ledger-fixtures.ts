// Building ledgers in tests through the same function every writer uses (applyChange), in the
// shapes older tests spoke of: "this recipe's prepull needed these images at this time" and
// "imagekeeper first saw these images then".
import { applyChange, type Ledger } from "../../src/state/ledger.js";

export interface PrepullFixture {
  at: Date;
  recipe: string;
  ref: string | null;
  images: { ref: string; id: string | null }[];
  /** The app (default: the recipe) and role (default: "deploy"). */
  app?: string;
  role?: string;
}

/** The latest time a ledger holds: a fixture applied "later" must not clamp it (clock safety). */
function latest(l: Ledger): number {
  return Math.max(
    0,
    ...Object.values(l.images).map((e) => e.lastSeen),
    ...Object.values(l.needs).map((n) => n.at),
  );
}

/** The ledger after one prepull of `recipe` as app `app` (default: the recipe's name). */
export function prepulled(l: Ledger, p: PrepullFixture): Ledger {
  const at = p.at.getTime();
  const app = p.app ?? p.recipe;
  const role = p.role ?? "deploy";
  return applyChange(
    l,
    {
      uses: p.images.flatMap((i) =>
        i.id ? [{ at, id: i.id, ref: i.ref, app, role, source: "prepull" as const }] : [],
      ),
      needs: [
        {
          at,
          app,
          role,
          recipe: p.recipe,
          version: p.ref,
          versionSource: p.ref ? "ref" : "working-tree",
          images: p.images,
        },
      ],
    },
    Math.max(at, latest(l)),
  );
}

/** Images not yet in the ledger get an entry first seen at `at` (existing entries are kept). */
export function firstSeenAt(l: Ledger, ids: readonly string[], at: Date): Ledger {
  const next = structuredClone(l);
  const t = at.getTime();
  for (const id of ids)
    next.images[id] ??= { refs: [], uses: [], arrived: null, firstSeen: t, lastSeen: t, gone: null, by: {} };
  return next;
}
