// Markdown tables and SVG recall/QPS plots from the benchmark's results.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const M = 16;
const ENGINES = [
  ["chromalite", "chromalite", "#d62728"],
  ["hnswlib", "hnswlib-node", "#1f77b4"],
  ["usearch", "usearch", "#2ca02c"],
  ["server", "Chroma server (HTTP)", "#9467bd"],
];

const f0 = (x) => (x == null || Number.isNaN(x) ? "–" : Math.round(x).toLocaleString("en-US"));
const f1 = (x) => (x == null ? "–" : x.toFixed(1));
const f2 = (x) => (x == null ? "–" : x.toFixed(2));
const f3 = (x) => (x == null ? "–" : x.toFixed(3));
const f4 = (x) => (x == null ? "–" : x.toFixed(4));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : "–");
const mib = (b) => (b == null ? "–" : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** Best QPS among sweep points with recall ≥ target (the recall/QPS frontier), and that point. */
export function atRecall(sweep, target) {
  const ok = (sweep ?? []).filter((p) => p.recall >= target);
  if (!ok.length) return null;
  return ok.reduce((a, b) => (b.qps > a.qps ? b : a));
}

/** Raw float32 vectors + HNSW links (2M u32 on layer 0, M per upper layer, ~1/(M-1) upper layers per node). */
export const idealBytes = (n, dim) => n * (4 * dim + 4 * 2 * M + (4 * M) / (M - 1));

const cpu_count = (machine) => Number(String(machine.cpu).split(" ")[0]) || "?";

function svg(entry, file) {
  const { spec, runs } = entry;
  const W = 640;
  const H = 400;
  const pad = { l: 60, r: 180, t: 30, b: 45 };
  const series = ENGINES.filter(([k]) => runs[k]?.sweep?.length).map(([k, label, color]) => ({ label, color, pts: runs[k].sweep }));
  const all = series.flatMap((s) => s.pts);
  if (!all.length) return;
  const qmin = Math.min(...all.map((p) => p.qps)) / 1.2;
  const qmax = Math.max(...all.map((p) => p.qps)) * 1.2;
  const rmin = Math.max(0, Math.floor(Math.min(...all.map((p) => p.recall)) * 20) / 20);
  const x = (q) => pad.l + ((Math.log10(q) - Math.log10(qmin)) / (Math.log10(qmax) - Math.log10(qmin))) * (W - pad.l - pad.r);
  const y = (r) => pad.t + (1 - (r - rmin) / (1 - rmin)) * (H - pad.t - pad.b);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="18" font-size="13">${spec.name} ${spec.n}×${spec.dim}: recall@10 vs QPS (one query at a time)</text>`,
  ];
  for (let r = rmin; r <= 1.0001; r += 0.05) {
    parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(r)}" y2="${y(r)}" stroke="#ddd"/>`);
    parts.push(`<text x="${pad.l - 6}" y="${y(r) + 4}" text-anchor="end">${r.toFixed(2)}</text>`);
  }
  for (let e = Math.floor(Math.log10(qmin)); e <= Math.ceil(Math.log10(qmax)); e++) {
    for (const m of [1, 2, 5]) {
      const q = m * 10 ** e;
      if (q < qmin || q > qmax) continue;
      parts.push(`<line x1="${x(q)}" x2="${x(q)}" y1="${pad.t}" y2="${H - pad.b}" stroke="#eee"/>`);
      parts.push(`<text x="${x(q)}" y="${H - pad.b + 14}" text-anchor="middle">${q >= 1000 ? `${q / 1000}k` : q}</text>`);
    }
  }
  parts.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(0.95)}" y2="${y(0.95)}" stroke="#888" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${W / 2 - 40}" y="${H - 8}">QPS (log scale)</text>`);
  parts.push(`<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})">recall@10</text>`);
  series.forEach((s, i) => {
    const pts = s.pts.map((p) => `${x(p.qps).toFixed(1)},${y(p.recall).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of s.pts) parts.push(`<circle cx="${x(p.qps).toFixed(1)}" cy="${y(p.recall).toFixed(1)}" r="3" fill="${s.color}"><title>ef ${p.ef}: recall ${p.recall.toFixed(4)}, ${Math.round(p.qps)} QPS</title></circle>`);
    parts.push(`<line x1="${W - pad.r + 12}" x2="${W - pad.r + 32}" y1="${pad.t + 10 + i * 18}" y2="${pad.t + 10 + i * 18}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${W - pad.r + 38}" y="${pad.t + 14 + i * 18}">${s.label}</text>`);
  });
  parts.push("</svg>");
  writeFileSync(file, parts.join("\n"));
}

export function renderMarkdown(report, plotDir) {
  mkdirSync(plotDir, { recursive: true });
  const { machine, results } = report;
  const L = [];
  const title = report.mode === "quick" ? "Quick benchmark (`--quick`)" : "Full benchmark: chromalite versus hnswlib-node, usearch, the Chroma server and brute force";
  L.push(`## ${title}`, "");
  L.push(`Command: \`cd bench && npm install && cd .. && ${report.command}\` — ${report.minutes.toFixed(1)} min.`, "");
  L.push(
    `Machine: ${machine.cpu} (${machine.simd}), ${machine.memory}, Node ${machine.node}, Linux ${machine.kernel}; ` +
      `memory read bandwidth ${machine.bandwidth ? `${machine.bandwidth[1]} GB/s on 1 thread, ${machine.bandwidth[2]} GB/s on 2` : "n/a"}. ` +
      `Peers: hnswlib-node ${machine.versions["hnswlib-node"]}, usearch ${machine.versions.usearch}, ` +
      `${machine.versions.server ? `Chroma server ${machine.versions.server} through chromadb ${machine.versions.chromadb} (HTTP, 127.0.0.1)` : "no Chroma server in this run"}.`,
    "",
  );
  if (machine.load) L.push(`Load average (1 min) at start / end: ${machine.load.map((x) => x.toFixed(2)).join(" / ")} on ${cpu_count(machine)} cores — other sessions' builds and tests shared this machine. Builds measured: ${(machine.builds ?? []).join(", ")}.`, "");
  L.push(
    `Same data, same parameters for all: l2, k = 10, M = 16, ef_construction = 100; ef_search swept over ${report.efs.join(", ")} ` +
      `(chromalite via \`collection.modify({configuration: {hnsw: {ef_search}}})\`, hnswlib \`setEf\`, usearch \`expansion_search\` on a loaded copy). ` +
      `Each engine runs in its own fresh child process; chromalite, hnswlib-node and usearch run side by side and take turns (one build or one timed turn at a time, first come first served), ` +
      `timing each pass in turns of 100 queries, each after 10 untimed ones, so the three engines' passes at each sweep point interleave in time and meet the machine's changing load alike. ` +
      `QPS = median of ${report.passes} passes over all queries, one query at a time ` +
      `(chromalite awaited through the public API); latency p50/p99 from the median pass; recall@10 against an exact brute-force top-10 (cached). ` +
      `"QPS @ recall ≥ x" is the best QPS among sweep points reaching x. The machine is shared and noisy (±15 % and worse between runs): ` +
      `read the ratios, which are measured in the same run.`,
    "",
  );
  const targets = [];
  for (const entry of results) {
    const { spec, runs } = entry;
    const name = `${spec.name} ${spec.n.toLocaleString("en-US")}×${spec.dim}, ${spec.q.toLocaleString("en-US")} queries`;
    const plot = `plots/${report.mode}-${spec.name}.svg`;
    svg(entry, join(plotDir, `${report.mode}-${spec.name}.svg`));
    L.push(`### ${name}`, "", `![recall vs QPS](${plot})`, "");
    const c = runs.chromalite ?? {};
    const ideal = idealBytes(spec.n, spec.dim);
    L.push("| engine | ef @ 0.95 | recall | QPS @ recall ≥ 0.95 | CPU µs / query @ 0.95 | QPS @ ≥ 0.99 | p50 / p99 (ms) | batch QPS, 2 cores | build (s) | insert (vec/s) | RSS / vector (B) | RSS / ideal | on disk | reopen (ms) |");
    L.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (const [key, label] of ENGINES) {
      const r = runs[key];
      if (!r || r.error) {
        if (r?.error) L.push(`| ${label} | failed: ${r.error.slice(0, 120)} |`);
        continue;
      }
      const p95 = atRecall(r.sweep, 0.95);
      const p99 = atRecall(r.sweep, 0.99);
      const lat = r.sweep?.find((p) => p.ef === r.ef95);
      let batch = "–";
      if (key === "chromalite" && r.batch) {
        batch = `${f0(r.batch.twoCalls.qps)} (2 calls) / ${f0(r.batch.inFlight8.qps)} (8 in flight) / ${f0(r.batch.oneCall.qps)} (1 call)`;
      } else if (key === "usearch" && r.batch) batch = `${f0(r.batch.qps)} (threads = 2)`;
      else if (key === "hnswlib") batch = "n/a (sync API, 1 core)";
      const disk = key === "chromalite" ? runs["chromalite-disk"] : r;
      const build = key === "server" ? f1(r.buildSeconds) : `${f1(r.buildSeconds)} (${key === "chromalite" ? "all cores" : `${r.buildThreads ?? "?"} thr`})`;
      const insert = key === "chromalite" ? `${f0(r.insertPerSecond)} mem / ${f0(disk?.insertPerSecond)} disk` : f0(r.insertPerSecond);
      L.push(
        `| ${label} | ${r.ef95 ?? "–"} | ${f4(lat?.recall)} | ${f0(p95?.qps)} | ${f1(lat?.cpuUs)} | ${f0(p99?.qps)} | ${lat ? `${f3(lat.p50)} / ${f3(lat.p99)}` : "–"} | ${batch} | ${build} | ${insert} | ${f0(r.rssDelta != null ? r.rssDelta / spec.n : null)} | ${r.rssDelta != null ? f2(r.rssDelta / ideal) : "–"} | ${mib(disk?.diskBytes)} | ${f0(disk?.reopenMs)} |`,
      );
    }
    L.push("");
    L.push(`Ideal memory (raw float32 vectors + HNSW links) = ${f0(ideal / spec.n)} B per vector. Server QPS over ${runs.server?.serverQueries ?? "–"} queries, one pass, ef ∈ {10, 20, 40, 80, 160}.`, "");
    // Ratios
    const cq = atRecall(c.sweep, 0.95)?.qps;
    const cq99 = atRecall(c.sweep, 0.99)?.qps;
    const rows = [];
    for (const [key, label] of ENGINES.slice(1)) {
      const r = runs[key];
      if (!r?.sweep) continue;
      rows.push(`| chromalite / ${label} | ${ratio(cq, atRecall(r.sweep, 0.95)?.qps)} | ${ratio(cq99, atRecall(r.sweep, 0.99)?.qps)} | ${ratio(c.buildSeconds, r.buildSeconds)} | ${ratio(c.rssDelta, r.rssDelta)} |`);
    }
    const b = runs.brute;
    if (b && !b.error) rows.push(`| chromalite / brute force (C SIMD, usearch exactSearch, 1 thread) | ${ratio(cq, b.usearchExactSingle1t?.qps)} | ${ratio(cq99, b.usearchExactSingle1t?.qps)} | – | – |`);
    if (b && !b.error) rows.push(`| chromalite / brute force (JavaScript) | ${ratio(cq, b.jsQps)} | ${ratio(cq99, b.jsQps)} | – | – |`);
    L.push("| ratio | QPS @ 0.95 | QPS @ 0.99 | build time | RSS delta |", "|---|---|---|---|---|", ...rows, "");
    const cpuOf = (r) => r?.sweep?.find((p) => p.ef === r.ef95)?.cpuUs;
    const cpuRows = ENGINES.slice(1).filter(([k]) => cpuOf(runs[k])).map(([k, label]) => `${label} ${ratio(cpuOf(runs[k]), cpuOf(c))}`);
    if (cpuOf(c) && cpuRows.length) L.push(`CPU-time ratio at each engine's own recall-0.95 point (peer CPU µs per query / chromalite's, > 1 means chromalite cheaper; robust to other load): ${cpuRows.join(", ")}.`, "");
    // Latency / event loop
    const stall = [
      `chromalite worst event-loop stall: ${f1(Math.max(...(c.sweep ?? []).map((p) => p.worstLagMs)))} ms while querying one at a time, ` +
        `${f1(c.batch?.oneCall?.worstLagMs)} ms during a ${spec.q}-embedding query call, ${f1(c.buildLagMs)} ms during the build`,
      runs.usearch?.batch ? `usearch (synchronous API): ${f1(runs.usearch.batch.worstLagMs)} ms during its batch search, ${f1(runs.usearch.buildLagMs)} ms during its build` : null,
      runs.hnswlib?.sweep ? `hnswlib-node (synchronous): ${f1(Math.max(...runs.hnswlib.sweep.map((p) => p.worstLagMs)))} ms while querying one at a time (yielding only every 100 queries)` : null,
    ].filter(Boolean);
    L.push(`Event loop (2 ms interval timer): ${stall.join("; ")}.`, "");
    // Filtered
    const cf = runs["chromalite-filter"];
    if (cf?.filtered) {
      L.push(`Filtered queries (metadata \`bucket = i % 100\`, \`where: {bucket: {$lt: s}}\`), ef_search = ${cf.ef}, first ${cf.filterQueries ?? spec.q} queries, recall against the exact filtered top-10; chromalite's QPS is the median of ${cf.filtered?.[0]?.qpsAll?.length ?? "?"} passes, the selectivities taking turns pass by pass:`, "");
      L.push("| selectivity | chromalite recall | chromalite QPS (CPU µs/query) | vs unfiltered | hnswlib-node (JS filter callback) recall / QPS | chromalite / hnswlib |", "|---|---|---|---|---|---|");
      const unf = cf.filtered.find((f) => f.selectivity === null);
      for (const f of cf.filtered) {
        const h = runs.hnswlib?.filtered?.find((x) => x.selectivity === f.selectivity);
        L.push(`| ${f.selectivity === null ? "none" : `${f.selectivity} %`} | ${f4(f.recall)} | ${f0(f.qps)} (${f0(f.cpuUs)}) | ${ratio(f.qps, unf?.qps)} | ${h ? `${f4(h.recall)} / ${f0(h.qps)}` : "–"} | ${ratio(f.qps, h?.qps)} |`);
      }
      L.push("");
      const f1p = cf.filtered.find((f) => f.selectivity === 1);
      targets.push([spec.name, "filtered queries exact at 1/10/50 %", cf.filtered.filter((f) => f.selectivity !== null).every((f) => f.recall === 1), cf.filtered.filter((f) => f.selectivity !== null).map((f) => f4(f.recall)).join(" / ")]);
      targets.push([spec.name, "1 % filter at least as fast as unfiltered", f1p && unf && f1p.qps >= unf.qps, `${f0(f1p?.qps)} vs ${f0(unf?.qps)} QPS (${ratio(f1p?.qps, unf?.qps)})`]);
    }
    // Exact scan
    if (b && !b.error) {
      const bw1 = machine.bandwidth?.[1];
      const gbs = (qps) => (qps ? (qps * b.bytesPerQuery) / 1e9 : null);
      L.push(`Exact (brute-force) search, ${mib(b.bytesPerQuery)} of vectors per query; bandwidth bound = ${bw1 ? `${f0((bw1 * 1e9) / b.bytesPerQuery)} QPS per core (${bw1} GB/s)` : "n/a"}:`, "");
      L.push("| exact scan | QPS | GB/s | of the 1-thread bandwidth bound |", "|---|---|---|---|");
      const rowsE = [
        ["usearch exactSearch, 1 query per call, 1 thread", b.usearchExactSingle1t?.qps],
        ["usearch exactSearch, 1 query per call, 2 threads", b.usearchExactSingle2t?.qps],
        ["usearch exactSearch, batch, 2 threads", b.usearchExactBatch2t?.qps],
        ["JavaScript loop", b.jsQps],
      ];
      for (const [label, qps] of rowsE) L.push(`| ${label} | ${f0(qps)} | ${f1(gbs(qps))} | ${bw1 && qps ? `${((gbs(qps) / bw1) * 100).toFixed(0)} %` : "–"} |`);
      for (const f of cf?.filtered ?? []) {
        if (!f.scanBytes) continue;
        const g = (f.qps * f.scanBytes) / 1e9;
        L.push(`| chromalite exact path (filter ${f.selectivity} % → scan of ${f0(f.scanBytes / spec.dim / 4)} rows, filter evaluation included) | ${f0(f.qps)} | ${f1(g)} | ${bw1 ? `${((g / bw1) * 100).toFixed(0)} %` : "–"} |`);
      }
      L.push("");
    }
    // Targets
    const h = runs.hnswlib;
    const u = runs.usearch;
    const s = runs.server;
    if (cq) {
      if (h?.sweep) targets.push([spec.name, "QPS ≥ 1.5× hnswlib-node @ recall 0.95", cq / atRecall(h.sweep, 0.95)?.qps >= 1.5, ratio(cq, atRecall(h.sweep, 0.95)?.qps)]);
      if (u?.sweep) targets.push([spec.name, "QPS ≥ 1.2× usearch @ recall 0.95", cq / atRecall(u.sweep, 0.95)?.qps >= 1.2, ratio(cq, atRecall(u.sweep, 0.95)?.qps)]);
      if (s?.sweep) {
        const sq = atRecall(s.sweep, 0.95)?.qps;
        targets.push([spec.name, "QPS ≥ 20× Chroma server (HTTP) @ recall 0.95", sq ? cq / sq >= 20 : null, ratio(cq, sq)]);
      }
    }
    if (h?.buildSeconds && c.buildSeconds) targets.push([spec.name, "build (2 cores) ≤ 0.6× hnswlib-node 1-thread", c.buildSeconds / h.buildSeconds <= 0.6, `${f1(c.buildSeconds)} s vs ${f1(h.buildSeconds)} s (${ratio(c.buildSeconds, h.buildSeconds)})`]);
    if (c.rssDelta) targets.push([spec.name, "RSS ≤ 1.3× (raw vectors + links)", c.rssDelta / ideal <= 1.3, `${f2(c.rssDelta / ideal)}× (${f0(c.rssDelta / spec.n)} B vs ${f0(ideal / spec.n)} B per vector)`]);
  }
  L.push("### Targets of the issue", "", "| dataset | target | met? | measured |", "|---|---|---|---|");
  for (const [d, t, ok, m] of targets) L.push(`| ${d} | ${t} | ${ok == null ? "n/a" : ok ? "yes" : "**no**"} | ${m} |`);
  L.push("");
  return L.join("\n");
}
