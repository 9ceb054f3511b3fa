// The act chain as a picture: subject → first actor → … → current (outermost) actor, as inline SVG.
import { actorsOutermostFirst, visibleText } from './jwt.js';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 176;
const NODE_H = 78;
const GAP = 30;
const PAD = 8;

/** Nodes in the order the delegation happened: the subject, then each actor, the current one last. */
export function chainNodes(claims) {
  const subjectIss = claims.sub_id && typeof claims.sub_id === 'object' ? claims.sub_id.iss : claims.iss;
  const actors = actorsOutermostFirst(claims.act).reverse();
  return [
    { role: 'subject', sub: String(claims.sub), iss: subjectIss },
    ...actors.map((actor, i) => ({
      role: i === actors.length - 1 ? 'current' : 'actor',
      sub: actor.sub,
      iss: actor.iss,
      attested_by: actor.attested_by,
    })),
  ];
}

/**
 * A figure with the SVG picture and, for screen readers, the same chain as an ordered list.
 * `width`: the room available, in CSS pixels; the nodes run in rows that wrap (one column when narrow).
 */
export function chainFigure(claims, width) {
  const nodes = chainNodes(claims);
  const perRow = Math.max(1, Math.min(nodes.length, Math.floor((width - 2 * PAD + GAP) / (NODE_W + GAP))));
  const rows = Math.ceil(nodes.length / perRow);
  const at = (i) => ({ x: PAD + (i % perRow) * (NODE_W + GAP), y: PAD + Math.floor(i / perRow) * (NODE_H + GAP) });
  const figure = document.createElement('figure');
  figure.className = 'chain';
  const svg = document.createElementNS(SVG, 'svg');
  svg.id = 'act-chain';
  const w = perRow * NODE_W + (perRow - 1) * GAP + 2 * PAD;
  const h = rows * NODE_H + (rows - 1) * GAP + 2 * PAD;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', 'act-chain-title');
  svg.dataset.perRow = String(perRow);
  const title = document.createElementNS(SVG, 'title');
  title.id = 'act-chain-title';
  title.textContent = visibleText(describe(nodes));
  svg.append(title, arrowMarker());

  nodes.forEach((node, i) => {
    if (i > 0) svg.append(edge(at(i - 1), at(i)));
    svg.append(nodeGroup(node, i, at(i).x, at(i).y));
  });
  figure.append(svg, textAlternative(nodes));
  const caption = document.createElement('figcaption');
  caption.className = 'hint';
  caption.textContent =
    nodes.length === 1
      ? 'No act claim: nobody acts for the subject (impersonation or a plain token).'
      : 'Each arrow points from whom an actor acts for to the actor; the outermost act (thick border) is the current actor.';
  figure.append(caption);
  return figure;
}

function describe(nodes) {
  if (nodes.length === 1) return `${nodes[0].sub}, with no actor`;
  return `${nodes[0].sub}, then ${nodes
    .slice(1)
    .map((n) => `${n.sub}${n.role === 'current' ? ' (current actor)' : ''}`)
    .join(', then ')} acting`;
}

function nodeGroup(node, index, x, y) {
  const g = document.createElementNS(SVG, 'g');
  g.setAttribute('class', `node ${node.role}`);
  g.dataset.sub = node.sub;
  g.dataset.role = node.role;
  g.dataset.index = String(index);
  const tip = document.createElementNS(SVG, 'title');
  tip.textContent = visibleText(
    [node.sub, node.iss && `iss ${node.iss}`, node.attested_by && `attested by ${node.attested_by}`]
      .filter(Boolean)
      .join('\n'),
  );
  const rect = document.createElementNS(SVG, 'rect');
  rect.setAttribute('x', String(x));
  rect.setAttribute('y', String(y));
  rect.setAttribute('width', String(NODE_W));
  rect.setAttribute('height', String(NODE_H));
  rect.setAttribute('rx', '6');
  g.append(tip, rect);
  const role =
    node.role === 'subject'
      ? 'subject'
      : node.role === 'current'
        ? `current actor · act ${index}`
        : `actor · act ${index}`;
  g.append(text('role', role, x + 10, y + 16));
  g.append(text('sub', shorten(node.sub, 20), x + 10, y + 36));
  if (node.iss) g.append(text('iss', `iss ${shorten(node.iss, 24)}`, x + 10, y + 54));
  if (node.attested_by) g.append(text('attested', `attested by ${shorten(node.attested_by, 16)}`, x + 10, y + 70));
  return g;
}

/** An arrow from one node to the next: straight along a row, or down and back to the next row's start. */
function edge(from, to) {
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('class', 'edge');
  const d =
    from.y === to.y
      ? `M${from.x + NODE_W + 2},${from.y + NODE_H / 2} H${to.x - 4}`
      : `M${from.x + NODE_W / 2},${from.y + NODE_H + 2} V${from.y + NODE_H + GAP / 2} H${to.x + NODE_W / 2} V${to.y - 4}`;
  path.setAttribute('d', d);
  path.setAttribute('marker-end', 'url(#act-arrow)');
  return path;
}

function arrowMarker() {
  const defs = document.createElementNS(SVG, 'defs');
  const marker = document.createElementNS(SVG, 'marker');
  marker.id = 'act-arrow';
  marker.setAttribute('viewBox', '0 0 10 10');
  marker.setAttribute('refX', '9');
  marker.setAttribute('refY', '5');
  marker.setAttribute('markerWidth', '7');
  marker.setAttribute('markerHeight', '7');
  marker.setAttribute('orient', 'auto');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', 'M0,0 L10,5 L0,10 z');
  path.setAttribute('class', 'arrowhead');
  marker.append(path);
  defs.append(marker);
  return defs;
}

function text(cls, content, x, y) {
  const t = document.createElementNS(SVG, 'text');
  t.setAttribute('class', cls);
  t.setAttribute('x', String(x));
  t.setAttribute('y', String(y));
  t.textContent = content;
  return t;
}

function shorten(value, max) {
  const s = visibleText(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function textAlternative(nodes) {
  const list = document.createElement('ol');
  list.className = 'visually-hidden';
  for (const node of nodes) {
    const item = document.createElement('li');
    item.textContent = visibleText(
      `${node.role === 'subject' ? 'Subject' : node.role === 'current' ? 'Current actor' : 'Actor'} ${
        node.sub
      }${node.iss ? `, issuer ${node.iss}` : ''}${node.attested_by ? `, attested by ${node.attested_by}` : ''}`,
    );
    list.append(item);
  }
  return list;
}
