// The main job: uses the whole local API on a small real corpus and prints what it finds.
// Run with `npm run example` after `npm install`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  AdminClient,
  ChromaNotFoundError,
  ChromaUniqueError,
  EphemeralClient,
  PersistentClient,
  Settings,
  getVersion,
} from "chromalite";

import { corpus } from "./corpus.mjs";
import { hashEmbedding } from "./hash-embedding.mjs";

const path = mkdtempSync(join(tmpdir(), "chromalite-example-"));
const show = (label, value) => console.log(`${label.padEnd(34)} ${typeof value === "string" ? value : JSON.stringify(value)}`);

try {
  show("chromalite version", getVersion());

  // 1. A persistent client: documents are embedded by the collection's embedding function.
  const client = PersistentClient({ path, settings: new Settings({ allowReset: true }) });
  show("heartbeat (ns)", String(await client.heartbeat()));
  const facts = await client.createCollection({
    name: "facts",
    metadata: { description: "short facts", "hnsw:space": "cosine" },
    embeddingFunction: hashEmbedding,
  });
  await facts.add({
    ids: corpus.map((_, i) => `fact-${i}`),
    documents: corpus.map((c) => c.text),
    metadatas: corpus.map((c) => ({ topic: c.topic, year: c.year, tags: c.text.toLowerCase().match(/[a-z]+/g).slice(0, 3) })),
  });
  show("records", await facts.count());

  // 2. Semantic queries, with and without filters.
  const questions = ["telescope in orbit", "basil and tomato", "jazz album"];
  const answers = await facts.query({ queryTexts: questions, nResults: 2 });
  questions.forEach((q, i) => show(`query "${q}"`, answers.documents[i][0]));
  const recent = await facts.query({ queryTexts: ["space mission"], nResults: 3, where: { $and: [{ topic: "space" }, { year: { $gte: 2000 } }] } });
  show("space missions since 2000", recent.rows().queries[0].map((r) => `${r.metadata.year}: ${r.document}`));
  const animals = await facts.get({ where: { topic: { $in: ["animals"] } }, whereDocument: { $contains: "Antarctic" } });
  show("animals + 'Antarctic'", animals.documents);
  const regex = await facts.get({ whereDocument: { $regex: "(?i)^the [a-z]+ space" }, include: ["documents"] });
  show("regex (?i)^the ... space", regex.documents);

  // 3. Updates, upserts, deletes.
  await facts.update({ ids: ["fact-0"], metadatas: [{ year: null, verified: true }] });
  show("fact-0 after update", (await facts.get({ ids: ["fact-0"] })).metadatas[0]);
  await facts.upsert({ ids: ["fact-100"], documents: ["Jupiter is the largest planet in the Solar System."], metadatas: [{ topic: "space", year: 1610 }] });
  const deleted = await facts.delete({ where: { topic: "cooking" } });
  show("deleted cooking facts", deleted);
  show("records now", await facts.count());
  show("largest planet?", (await facts.query({ queryTexts: ["largest planet"], nResults: 1 })).documents[0][0]);

  // 4. Errors are typed like the official client's.
  try {
    await client.createCollection({ name: "facts", embeddingFunction: hashEmbedding });
  } catch (error) {
    show("duplicate create", `${error.name}: ${error instanceof ChromaUniqueError}`);
  }
  try {
    await client.getCollection({ name: "missing" });
  } catch (error) {
    show("missing collection", `${error.name}: ${error instanceof ChromaNotFoundError}`);
  }

  // 5. Persistence: close and reopen, the data is still there.
  await client.close();
  const reopened = PersistentClient({ path });
  const again = await reopened.getCollection({ name: "facts", embeddingFunction: hashEmbedding });
  show("after reopen, records", await again.count());
  show("after reopen, moon landing", (await again.query({ queryTexts: ["first humans on the Moon"], nResults: 1 })).documents[0][0]);
  show("collections", (await reopened.listCollections()).map((c) => c.name));
  await reopened.close();

  // 6. Tenants and databases through the admin client, on an in-memory engine.
  const admin = AdminClient({ settings: new Settings() });
  await admin.createTenant({ name: "acme" });
  await admin.createDatabase({ name: "research", tenant: "acme" });
  show("acme databases", (await admin.listDatabases({ tenant: "acme" })).map((d) => d.name));
  const scoped = EphemeralClient({ tenant: "acme", database: "research" });
  const notes = await scoped.createCollection({ name: "notes", embeddingFunction: null });
  await notes.add({ ids: ["n1", "n2"], embeddings: [[1, 0], [0, 1]], documents: ["left", "up"] });
  show("nearest to [0.9, 0.1]", (await notes.query({ queryEmbeddings: [[0.9, 0.1]], nResults: 1 })).documents[0][0]);
  await scoped.close();
  await admin.close();
} finally {
  rmSync(path, { recursive: true, force: true });
}
