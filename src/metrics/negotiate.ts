// Which exposition a scraper gets, from its Accept header, as Prometheus' client libraries
// (expfmt.Negotiate) decide: the media ranges in order of q (ties: the order written), the
// first one fcgate can produce wins; nothing acceptable → text 0.0.4.
//   application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited → protobuf
//   application/openmetrics-text (version 1.0.0 or 0.0.1, or none)                          → OpenMetrics
//   text/plain (version 0.0.4 or none), */*                                                → text

export type Exposition = 'protobuf' | 'openmetrics' | 'text';

interface Range {
  type: string;
  params: Map<string, string>;
  q: number;
  order: number;
}

function parseAccept(accept: string): Range[] {
  const out: Range[] = [];
  accept.split(',').forEach((part, order) => {
    const [type, ...rest] = part.split(';').map((s) => s.trim());
    if (type === undefined || type === '') return;
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0)
        params.set(
          p.slice(0, eq).trim().toLowerCase(),
          p
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1'),
        );
    }
    const q = params.has('q') ? Number(params.get('q')) : 1;
    out.push({ type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0, order });
  });
  return out.sort((a, b) => b.q - a.q || a.order - b.order);
}

export function negotiate(accept: string | undefined): Exposition {
  if (accept === undefined || accept === '') return 'text';
  for (const r of parseAccept(accept)) {
    if (r.q <= 0) continue;
    if (
      r.type === 'application/vnd.google.protobuf'
      && r.params.get('proto') === 'io.prometheus.client.MetricFamily'
      && r.params.get('encoding') === 'delimited'
    )
      return 'protobuf';
    if (r.type === 'application/openmetrics-text') {
      const v = r.params.get('version');
      if (v === undefined || v === '1.0.0' || v === '0.0.1') return 'openmetrics';
    }
    if (r.type === 'text/plain') {
      const v = r.params.get('version');
      if (v === undefined || v === '0.0.4') return 'text';
    }
    if (r.type === '*/*' || r.type === 'text/*') return 'text';
  }
  return 'text';
}
