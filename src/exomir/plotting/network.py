"""A self-contained interactive page of the transfer network (no CDN, no network access).

The layout is computed here (columns: cells, miRNAs, genes, pathways, hallmarks; rows ordered
by the mean position of their neighbours), so the same evidence always gives the same bytes.
A small inline script draws SVG, filters by hallmark or cell type, finds nodes by name, zooms
and pans, shows the evidence of a clicked node (with links to its papers) and exports the
drawing as SVG or PNG and the graph as GraphML, all without a server.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import networkx as nx
import pandas as pd

from exomir.atomic import atomic_open
from exomir.kb.network import KINDS
from exomir.kb.vocab import Cell, Hallmark

_COLUMN_X = {"cell": 165, "mirna": 400, "gene": 615, "pathway": 800, "hallmark": 990}
_ROW = 19
_TOP = 60


def layout(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Column per node kind; miRNAs by name, other columns by the mean row of their miRNAs."""
    by_kind = {k: sorted(n for n, d in graph.nodes(data=True) if d["kind"] == k) for k in KINDS}
    rows = max((len(v) for v in by_kind.values()), default=1)
    height = max(rows, 1) * _ROW
    pos: dict[str, tuple[float, float]] = {}
    mirnas = sorted(by_kind["mirna"], key=lambda n: graph.nodes[n]["label"].lower())
    for i, n in enumerate(mirnas):
        pos[n] = (_COLUMN_X["mirna"], _TOP + (i + 0.5) * height / max(len(mirnas), 1))
    for kind in ("cell", "gene", "pathway", "hallmark"):
        nodes = by_kind[kind]

        def centre(n: str) -> float:
            ys = [pos[m][1] for m in nx.all_neighbors(graph, n) if m in pos]
            return sum(ys) / len(ys) if ys else 0.0

        order = sorted(nodes, key=lambda n: (centre(n), n))
        for i, n in enumerate(order):
            pos[n] = (_COLUMN_X[kind], _TOP + (i + 0.5) * height / max(len(order), 1))
    return pos


def _payload(graph: nx.DiGraph, table: pd.DataFrame) -> dict:
    pos = layout(graph)
    nodes = [{"id": n, "kind": d["kind"], "label": d["label"], "x": round(pos[n][0], 1), "y": round(pos[n][1], 1),
              "records": d["records"].split(";") if d["records"] else []} for n, d in sorted(graph.nodes(data=True))]
    edges = [{"s": u, "t": v, "kind": d["kind"], "records": d["records"].split(";") if d["records"] else [],
              "refs": d["references"]} for u, v, d in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1]))]
    used = {r for n in nodes for r in n["records"]}
    records = {}
    for _, rec in table.iterrows():
        if rec["id"] not in used:
            continue
        records[rec["id"]] = {k: (None if pd.isna(rec[k]) else rec[k]) for k in (
            "mirna", "name", "direction", "comparison", "parental_cell", "parental_detail", "recipient_cell",
            "recipient_detail", "target", "regulates", "pathway", "hallmark", "effect", "clinical_role",
            "reference", "pmid", "doi", "source", "provenance", "notes") if k in rec.index}
    height = max(n["y"] for n in nodes) + 40 if nodes else 200
    return {"nodes": nodes, "edges": edges, "records": records, "height": height,
            "hallmarks": [[h.value, h.label] for h in Hallmark],
            "cells": [[c.value, c.label] for c in Cell if any(n["id"] == f"cell:{c.value}" for n in nodes)]}


def render_html(graph: nx.DiGraph, table: pd.DataFrame, *, title: str = "exomir transfer network") -> str:
    data = json.dumps(_payload(graph, table), ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return _TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)


def write_html(graph: nx.DiGraph, table: pd.DataFrame, path: str | Path, *, title: str = "exomir transfer network") -> None:
    with atomic_open(path, "w") as handle:
        handle.write(render_html(graph, table, title=title))


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222}
header{padding:10px 16px;border-bottom:1px solid #ddd;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
h1{font-size:17px;margin:0}
main{display:flex;align-items:flex-start}
#wrap{flex:1;overflow:auto;height:calc(100vh - 52px);cursor:grab}
#wrap.panning{cursor:grabbing}
.tools{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.tools button{font:inherit;font-size:13px;padding:3px 9px;border:1px solid #bbb;background:#f6f6f6;border-radius:4px;cursor:pointer}
.tools input{font:inherit;font-size:13px;padding:3px 6px;width:170px}
#found{font-size:12px;color:#555;min-width:70px}
.node.match circle{stroke:#111;stroke-width:3}
.match text{font-weight:bold}
aside{width:380px;border-left:1px solid #ddd;padding:10px 14px;height:calc(100vh - 72px);overflow:auto;font-size:13px}
.node circle{stroke:#fff;stroke-width:1.5;cursor:pointer}
.node text{font-size:11px;cursor:pointer}
.edge{fill:none;stroke-opacity:.45;stroke-width:1.2}
.dim{opacity:.08}
.hl{stroke-opacity:1;stroke-width:2.4}
.rec{border-top:1px solid #eee;padding:6px 0}
.rec b{color:#333}.muted{color:#777}
.legend span{display:inline-block;margin-right:10px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
</style></head><body>
<header><h1>__TITLE__</h1>
<label>Hallmark <select id="hallmark"><option value="">all</option></select></label>
<label>Cell type <select id="cell"><option value="">all</option></select></label>
<span class="tools"><input id="find" type="search" placeholder="find a node (miR-21, PTEN…)" aria-label="find a node" list="labels">
<datalist id="labels"></datalist><span id="found"></span></span>
<span class="tools"><button id="zoom-in" title="zoom in">+</button><button id="zoom-out" title="zoom out">−</button><button id="zoom-fit" title="whole width">fit</button><span id="zoom-level">100%</span></span>
<span class="tools">Export <button id="export-svg">SVG</button><button id="export-png">PNG</button><button id="export-graphml">GraphML</button></span>
<span class="legend" id="legend"></span></header>
<main><div id="wrap"><svg id="net" width="100%" xmlns="http://www.w3.org/2000/svg"></svg></div>
<aside id="panel"><p class="muted">Click a node to see the evidence behind it. Arrows: cell → miRNA (secretes),
miRNA → cell (delivered to, dashed), miRNA → gene → pathway → hallmark.</p></aside></main>
<script type="application/json" id="data">__DATA__</script>
<script>
(function(){
const D=JSON.parse(document.getElementById('data').textContent);
const NS='http://www.w3.org/2000/svg';
const COLORS={cell:'#1b9e77',mirna:'#d95f02',gene:'#7570b3',pathway:'#e7298a',hallmark:'#66a61e'};
const EDGE={secretes:'#1b9e77',delivered_to:'#e6ab02',targets:'#7570b3',regulates:'#a6a0d8',in_pathway:'#e7298a',acts_on:'#e7298a',drives:'#66a61e'};
const svg=document.getElementById('net');svg.setAttribute('viewBox','0 0 1120 '+D.height);svg.setAttribute('preserveAspectRatio','xMinYMin meet');svg.style.minWidth='760px';
const byId={};D.nodes.forEach(n=>byId[n.id]=n);
const heads=[['cells',165],['miRNAs',400],['genes',615],['pathways',800],['hallmarks',990]];
heads.forEach(([t,x])=>{const e=document.createElementNS(NS,'text');e.setAttribute('x',x);e.setAttribute('y',30);
 e.setAttribute('text-anchor','middle');e.setAttribute('font-weight','bold');e.textContent=t;svg.appendChild(e);});
const defs=document.createElementNS(NS,'defs');svg.appendChild(defs);
Object.entries(EDGE).forEach(([k,c])=>{const m=document.createElementNS(NS,'marker');m.setAttribute('id','a-'+k);
 m.setAttribute('viewBox','0 0 10 10');m.setAttribute('refX','14');m.setAttribute('refY','5');m.setAttribute('markerWidth','5');
 m.setAttribute('markerHeight','5');m.setAttribute('orient','auto');const p=document.createElementNS(NS,'path');
 p.setAttribute('d','M0,0L10,5L0,10z');p.setAttribute('fill',c);m.appendChild(p);defs.appendChild(m);});
const edgeEls=D.edges.map(e=>{const a=byId[e.s],b=byId[e.t];const p=document.createElementNS(NS,'path');
 let d;if(b.x<a.x){const bend=Math.max(40,(a.x-b.x)/3);d=`M${a.x},${a.y} C${a.x-bend},${a.y+30} ${b.x+bend},${b.y+30} ${b.x},${b.y}`;
  p.setAttribute('stroke-dasharray','4 3');}
 else{const mx=(a.x+b.x)/2;d=`M${a.x},${a.y} C${mx},${a.y} ${mx},${b.y} ${b.x},${b.y}`;}
 p.setAttribute('d',d);p.setAttribute('class','edge');p.setAttribute('stroke',EDGE[e.kind]||'#999');
 p.setAttribute('marker-end',`url(#a-${e.kind})`);const t=document.createElementNS(NS,'title');
 t.textContent=`${a.label} → ${b.label} (${e.kind}); refs [${e.refs}]`;p.appendChild(t);svg.appendChild(p);return p;});
const nodeEls=D.nodes.map(n=>{const g=document.createElementNS(NS,'g');g.setAttribute('class','node');
 g.setAttribute('transform',`translate(${n.x},${n.y})`);const c=document.createElementNS(NS,'circle');c.setAttribute('r',6);
 c.setAttribute('fill',COLORS[n.kind]);g.appendChild(c);const t=document.createElementNS(NS,'text');
 const left=n.kind==='cell';t.setAttribute('x',left?-10:10);t.setAttribute('y',4);t.setAttribute('text-anchor',left?'end':'start');
 t.textContent=n.label;g.appendChild(t);g.addEventListener('click',()=>show(n));svg.appendChild(g);return g;});
const legend=document.getElementById('legend');
Object.entries(COLORS).forEach(([k,c])=>{const s=document.createElement('span');s.innerHTML=`<i style="background:${c}"></i>${k}`;legend.appendChild(s);});
const hs=document.getElementById('hallmark'),cs=document.getElementById('cell');
D.hallmarks.forEach(([v,l])=>hs.add(new Option(l,v)));D.cells.forEach(([v,l])=>cs.add(new Option(l,v)));
function split(v){return (v||'').split(';').filter(Boolean);}
function active(){const h=hs.value,c=cs.value;const out=new Set();
 Object.entries(D.records).forEach(([id,r])=>{if(h&&!split(r.hallmark).includes(h))return;
  if(c&&!split(r.parental_cell).concat(split(r.recipient_cell)).includes(c))return;out.add(id);});return out;}
let selected=null;let matched=new Set();
function redraw(){const act=active();
 D.edges.forEach((e,i)=>{const on=e.records.some(r=>act.has(r));const hl=selected&&(e.s===selected.id||e.t===selected.id);
  edgeEls[i].setAttribute('class','edge'+(on?'':' dim')+(hl&&on?' hl':''));});
 D.nodes.forEach((n,i)=>{const on=n.records.some(r=>act.has(r));nodeEls[i].setAttribute('class','node'+(on?'':' dim')+(matched.has(i)?' match':''));});
 if(selected)show(selected,true);}
function esc(s){return String(s==null?'':s).replace(/[&<>"]/g,ch=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[ch]));}
function show(n,keep){selected=n;if(!keep){redraw();return;}const act=active();
 const recs=n.records.filter(r=>act.has(r));let h=`<h2 style="font-size:15px">${esc(n.label)} <span class="muted">(${n.kind})</span></h2>`;
 h+=`<p class="muted">${recs.length} record(s)${hs.value||cs.value?' matching the filter':''}</p>`;
 recs.forEach(id=>{const r=D.records[id];h+=`<div class="rec"><b>${esc(r.name||r.mirna)}</b> `+
  (r.direction?`<b>${esc(r.direction)}</b> `:'')+(r.comparison?`<span class="muted">${esc(r.comparison)}</span>`:'')+
  `<br>${esc(r.effect)}<br><span class="muted">`+
  (r.parental_cell?`from ${esc(r.parental_detail||r.parental_cell)} `:'')+(r.recipient_cell?`to ${esc(r.recipient_detail||r.recipient_cell)} `:'')+
  (r.target?`· targets ${esc(r.target)} `:'')+(r.regulates?`· regulates ${esc(r.regulates)} `:'')+
  `<br>${esc(bare(r))} · ${esc(r.source)} · ${esc(r.provenance)} · ${esc(id)}</span>`+links(r)+
  (r.notes?`<br><i>${esc(r.notes)}</i>`:'')+`</div>`;});
 document.getElementById('panel').innerHTML=h;}
hs.addEventListener('change',redraw);cs.addEventListener('change',redraw);redraw();
function bare(r){let t=String(r.reference||'');split(r.pmid).forEach(p=>{t=t.replace('PMID '+p.trim(),'');});
 split(r.doi).forEach(d=>{t=t.replace('doi:'+d.trim(),'');});return t.replace(/\s{2,}/g,' ').trim();}  // the ids show as links
function links(r){const out=[];split(r.pmid).forEach(p=>{if(/^[1-9][0-9]{0,8}$/.test(p.trim()))
  out.push(`<a href="https://pubmed.ncbi.nlm.nih.gov/${p.trim()}/" target="_blank" rel="noopener noreferrer">PMID ${esc(p.trim())}</a>`);});
 split(r.doi).forEach(d=>{d=d.trim();if(/^10\.[0-9]{4,9}\/\S+$/.test(d))
  out.push(`<a href="https://doi.org/${esc(encodeURI(d))}" target="_blank" rel="noopener noreferrer">doi:${esc(d)}</a>`);});
 return out.length?'<br>'+out.join(' · '):'';}
// ---- zoom and pan: the drawing's width is scaled and the frame scrolls
const wrap=document.getElementById('wrap');let zoom=1;const zl=document.getElementById('zoom-level');
function setZoom(z,cx,cy){const old=zoom;zoom=Math.min(8,Math.max(0.25,z));
 const r=wrap.getBoundingClientRect();cx=cx==null?r.width/2:cx;cy=cy==null?r.height/2:cy;
 const fx=(wrap.scrollLeft+cx)/old,fy=(wrap.scrollTop+cy)/old;
 svg.style.width=(100*zoom)+'%';svg.style.minWidth=(760*zoom)+'px';zl.textContent=Math.round(zoom*100)+'%';
 wrap.scrollLeft=fx*zoom-cx;wrap.scrollTop=fy*zoom-cy;}
document.getElementById('zoom-in').onclick=()=>setZoom(zoom*1.25);
document.getElementById('zoom-out').onclick=()=>setZoom(zoom/1.25);
document.getElementById('zoom-fit').onclick=()=>setZoom(1);
wrap.addEventListener('wheel',e=>{if(!e.ctrlKey&&!e.metaKey)return;e.preventDefault();
 const r=wrap.getBoundingClientRect();setZoom(zoom*(e.deltaY<0?1.15:1/1.15),e.clientX-r.left,e.clientY-r.top);},{passive:false});
let pan=null;
wrap.addEventListener('mousedown',e=>{if(e.target.closest('.node'))return;pan={x:e.clientX,y:e.clientY,l:wrap.scrollLeft,t:wrap.scrollTop};wrap.classList.add('panning');});
window.addEventListener('mousemove',e=>{if(!pan)return;wrap.scrollLeft=pan.l-(e.clientX-pan.x);wrap.scrollTop=pan.t-(e.clientY-pan.y);});
window.addEventListener('mouseup',()=>{pan=null;wrap.classList.remove('panning');});
// ---- find a node by name
const find=document.getElementById('find'),found=document.getElementById('found'),dl=document.getElementById('labels');
[...new Set(D.nodes.map(n=>n.label))].sort().forEach(l=>{const o=document.createElement('option');o.value=l;dl.appendChild(o);});
function matches(){const q=find.value.trim().toLowerCase();return q?D.nodes.map((n,i)=>[n,i]).filter(([n])=>n.label.toLowerCase().includes(q)):[];}
function mark(){const m=matches();matched=new Set(m.map(([,i])=>i));
 nodeEls.forEach((g,i)=>g.classList.toggle('match',matched.has(i)));
 found.textContent=find.value.trim()?(m.length?`${m.length} found`:'none found'):'';return m;}
find.addEventListener('input',()=>{const m=mark();if(m.length)nodeEls[m[0][1]].scrollIntoView({block:'center',inline:'center'});});
find.addEventListener('keydown',e=>{if(e.key!=='Enter')return;const m=mark();if(m.length){const [n,i]=m[0];
 nodeEls[i].scrollIntoView({block:'center',inline:'center'});show(n);}});
// ---- export: the drawing as SVG or PNG, the graph as GraphML (built here, so a saved page exports too)
function save(blob,name){const a=document.createElement('a');a.href=URL.createObjectURL(blob);a.download=name;
 document.body.appendChild(a);a.click();setTimeout(()=>{URL.revokeObjectURL(a.href);a.remove();},1000);}
function svgText(){const c=svg.cloneNode(true);const vb=svg.viewBox.baseVal;c.setAttribute('width',vb.width);c.setAttribute('height',vb.height);
 c.removeAttribute('style');const st=document.createElementNS(NS,'style');
 st.textContent='text{font-family:sans-serif}.node circle{stroke:#fff;stroke-width:1.5}.node text{font-size:11px}.edge{fill:none;stroke-opacity:.45;stroke-width:1.2}.dim{opacity:.08}.hl{stroke-opacity:1;stroke-width:2.4}.node.match circle{stroke:#111;stroke-width:3}';
 c.insertBefore(st,c.firstChild);const bg=document.createElementNS(NS,'rect');bg.setAttribute('width','100%');bg.setAttribute('height','100%');bg.setAttribute('fill','#fff');
 c.insertBefore(bg,st.nextSibling);return new XMLSerializer().serializeToString(c);}
document.getElementById('export-svg').onclick=()=>save(new Blob([svgText()],{type:'image/svg+xml'}),'exomir-network.svg');
document.getElementById('export-png').onclick=()=>{const vb=svg.viewBox.baseVal,img=new Image(),k=2;
 img.onload=()=>{const cv=document.createElement('canvas');cv.width=vb.width*k;cv.height=vb.height*k;const cx=cv.getContext('2d');
  cx.drawImage(img,0,0,cv.width,cv.height);cv.toBlob(b=>save(b,'exomir-network.png'),'image/png');};
 img.src='data:image/svg+xml;charset=utf-8,'+encodeURIComponent(svgText());};
function xml(s){return String(s==null?'':s).replace(/[&<>"']/g,ch=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&apos;'}[ch]));}
document.getElementById('export-graphml').onclick=()=>{let g='<?xml version="1.0" encoding="utf-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'+
 '<key id="label" for="node" attr.name="label" attr.type="string"/>\n<key id="kind" for="node" attr.name="kind" attr.type="string"/>\n'+
 '<key id="records" for="all" attr.name="records" attr.type="string"/>\n<key id="ekind" for="edge" attr.name="kind" attr.type="string"/>\n'+
 '<key id="references" for="edge" attr.name="references" attr.type="string"/>\n<graph edgedefault="directed">\n';
 D.nodes.forEach(n=>{g+=`<node id="${xml(n.id)}"><data key="label">${xml(n.label)}</data><data key="kind">${xml(n.kind)}</data><data key="records">${xml(n.records.join(';'))}</data></node>\n`;});
 D.edges.forEach(e=>{g+=`<edge source="${xml(e.s)}" target="${xml(e.t)}"><data key="ekind">${xml(e.kind)}</data><data key="records">${xml(e.records.join(';'))}</data><data key="references">${xml(e.refs)}</data></edge>\n`;});
 save(new Blob([g+'</graph>\n</graphml>\n'],{type:'application/xml'}),'exomir-network.graphml');};
})();
</script></body></html>
"""
