// A JSON round trip in AssemblyScript, for comparing runtimes (TLSF vs asmalloc, GC kept in both):
// builds records as classes, stringifies them to JSON, parses the text into a tree of values
// (maps, arrays, strings, numbers), rebuilds the classes from the tree, stringifies again and
// checks the text is unchanged; aggregates into maps along the way. Heavy on short strings,
// growing arrays, Map<string, ...> and small objects.
//   run(rounds, records): a checksum of everything produced; result() and resultLength()
//   give the last JSON text (UTF-16) so the host can compare outputs byte for byte.

// ---- a JSON value tree ---------------------------------------------------------------------
const enum Kind { NULL, BOOL, NUM, STR, ARR, OBJ }

class Value {
  constructor(public kind: Kind) {}
}
class Bool extends Value { constructor(public b: bool) { super(Kind.BOOL); } }
class Num extends Value { constructor(public n: f64) { super(Kind.NUM); } }
class Str extends Value { constructor(public s: string) { super(Kind.STR); } }
class Arr extends Value {
  items: Value[] = [];
  constructor() { super(Kind.ARR); }
}
class Obj extends Value {
  keys: string[] = [];
  map: Map<string, Value> = new Map();
  constructor() { super(Kind.OBJ); }
  set(k: string, v: Value): void { if (!this.map.has(k)) this.keys.push(k); this.map.set(k, v); }
  get(k: string): Value { return this.map.get(k); }
}
const NULL = new Value(Kind.NULL);

// ---- stringify -----------------------------------------------------------------------------
function quote(s: string, out: string[]): void {
  let t = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) t += "\\\"";
    else if (c == 0x5C) t += "\\\\";
    else if (c == 0x0A) t += "\\n";
    else if (c < 0x20) t += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
    else t += String.fromCharCode(c);
  }
  out.push(t + "\"");
}

function write(v: Value, out: string[]): void {
  switch (v.kind) {
    case Kind.NULL: out.push("null"); break;
    case Kind.BOOL: out.push(changetype<Bool>(v).b ? "true" : "false"); break;
    case Kind.NUM: {
      const n = changetype<Num>(v).n;
      out.push(n == Math.floor(n) && Math.abs(n) < 1e15 ? (<i64>n).toString() : n.toString());
      break;
    }
    case Kind.STR: quote(changetype<Str>(v).s, out); break;
    case Kind.ARR: {
      const items = changetype<Arr>(v).items;
      out.push("[");
      for (let i = 0; i < items.length; i++) {
        if (i) out.push(",");
        write(items[i], out);
      }
      out.push("]");
      break;
    }
    default: {
      const o = changetype<Obj>(v);
      out.push("{");
      for (let i = 0; i < o.keys.length; i++) {
        if (i) out.push(",");
        quote(o.keys[i], out);
        out.push(":");
        write(o.get(o.keys[i]), out);
      }
      out.push("}");
    }
  }
}

function stringify(v: Value): string {
  const out: string[] = [];
  write(v, out);
  return out.join("");
}

// ---- parse ---------------------------------------------------------------------------------
class Parser {
  pos: i32 = 0;
  constructor(public text: string) {}

  skip(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x0A && c != 0x0D && c != 0x09) break;
      this.pos++;
    }
  }
  expect(c: i32): void {
    this.skip();
    if (this.text.charCodeAt(this.pos) != c) throw new Error("bad JSON at " + this.pos.toString());
    this.pos++;
  }
  value(): Value {
    this.skip();
    const c = this.text.charCodeAt(this.pos);
    if (c == 0x7B) return this.object();
    if (c == 0x5B) return this.array();
    if (c == 0x22) return new Str(this.string());
    if (c == 0x74) { this.pos += 4; return new Bool(true); }
    if (c == 0x66) { this.pos += 5; return new Bool(false); }
    if (c == 0x6E) { this.pos += 4; return NULL; }
    return this.number();
  }
  object(): Obj {
    const o = new Obj();
    this.expect(0x7B);
    this.skip();
    if (this.text.charCodeAt(this.pos) == 0x7D) { this.pos++; return o; }
    let c: i32;
    do {
      this.skip();
      const k = this.string();
      this.expect(0x3A);
      o.set(k, this.value());
      this.skip();
      c = this.text.charCodeAt(this.pos++);
    } while (c == 0x2C);
    if (c != 0x7D) throw new Error("bad object");
    return o;
  }
  array(): Arr {
    const a = new Arr();
    this.expect(0x5B);
    this.skip();
    if (this.text.charCodeAt(this.pos) == 0x5D) { this.pos++; return a; }
    let c: i32;
    do {
      a.items.push(this.value());
      this.skip();
      c = this.text.charCodeAt(this.pos++);
    } while (c == 0x2C);
    if (c != 0x5D) throw new Error("bad array");
    return a;
  }
  string(): string {
    this.expect(0x22);
    const start = this.pos;
    let plain = true;
    while (this.text.charCodeAt(this.pos) != 0x22) {
      if (this.text.charCodeAt(this.pos) == 0x5C) { plain = false; this.pos++; }
      this.pos++;
    }
    const raw = this.text.substring(start, this.pos++);
    if (plain) return raw;
    let s = "";
    for (let i = 0; i < raw.length; i++) {
      let c = raw.charCodeAt(i);
      if (c == 0x5C) {
        const e = raw.charCodeAt(++i);
        if (e == 0x6E) c = 0x0A;
        else if (e == 0x75) { c = <i32>I32.parseInt(raw.substr(i + 1, 4), 16); i += 4; }
        else c = e;
      }
      s += String.fromCharCode(c);
    }
    return s;
  }
  number(): Num {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if ((c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x65 || c == 0x45) this.pos++;
      else break;
    }
    return new Num(parseFloat(this.text.substring(start, this.pos)));
  }
}

// ---- the records ---------------------------------------------------------------------------
class Address {
  constructor(public street: string, public city: string, public zip: i32) {}
}
class Person {
  id: i32 = 0;
  name: string = "";
  email: string = "";
  active: bool = false;
  tags: string[] = [];
  scores: f64[] = [];
  friends: i32[] = [];
  address: Address | null = null;
  attributes: Map<string, string> = new Map();
  attributeKeys: string[] = [];

  toValue(): Obj {
    const o = new Obj();
    o.set("id", new Num(this.id));
    o.set("name", new Str(this.name));
    o.set("email", new Str(this.email));
    o.set("active", new Bool(this.active));
    const tags = new Arr();
    for (let i = 0; i < this.tags.length; i++) tags.items.push(new Str(this.tags[i]));
    o.set("tags", tags);
    const scores = new Arr();
    for (let i = 0; i < this.scores.length; i++) scores.items.push(new Num(this.scores[i]));
    o.set("scores", scores);
    const friends = new Arr();
    for (let i = 0; i < this.friends.length; i++) friends.items.push(new Num(this.friends[i]));
    o.set("friends", friends);
    const a = this.address;
    if (a) {
      const ao = new Obj();
      ao.set("street", new Str(a.street));
      ao.set("city", new Str(a.city));
      ao.set("zip", new Num(a.zip));
      o.set("address", ao);
    } else {
      o.set("address", NULL);
    }
    const attrs = new Obj();
    for (let i = 0; i < this.attributeKeys.length; i++) {
      const k = this.attributeKeys[i];
      attrs.set(k, new Str(this.attributes.get(k)));
    }
    o.set("attributes", attrs);
    return o;
  }

  static fromValue(v: Value): Person {
    const o = changetype<Obj>(v);
    const p = new Person();
    p.id = <i32>changetype<Num>(o.get("id")).n;
    p.name = changetype<Str>(o.get("name")).s;
    p.email = changetype<Str>(o.get("email")).s;
    p.active = changetype<Bool>(o.get("active")).b;
    const tags = changetype<Arr>(o.get("tags")).items;
    for (let i = 0; i < tags.length; i++) p.tags.push(changetype<Str>(tags[i]).s);
    const scores = changetype<Arr>(o.get("scores")).items;
    for (let i = 0; i < scores.length; i++) p.scores.push(changetype<Num>(scores[i]).n);
    const friends = changetype<Arr>(o.get("friends")).items;
    for (let i = 0; i < friends.length; i++) p.friends.push(<i32>changetype<Num>(friends[i]).n);
    const a = o.get("address");
    if (a.kind == Kind.OBJ) {
      const ao = changetype<Obj>(a);
      p.address = new Address(changetype<Str>(ao.get("street")).s, changetype<Str>(ao.get("city")).s,
        <i32>changetype<Num>(ao.get("zip")).n);
    }
    const attrs = changetype<Obj>(o.get("attributes"));
    for (let i = 0; i < attrs.keys.length; i++) {
      const k = attrs.keys[i];
      p.attributeKeys.push(k);
      p.attributes.set(k, changetype<Str>(attrs.get(k)).s);
    }
    return p;
  }
}

let seed: u32 = 1;
function rand(): u32 { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \"\\\n";
function word(min: u32, spread: u32): string {
  const n = min + rand() % spread;
  let s = "";
  for (let i: u32 = 0; i < n; i++) s += LETTERS.charAt(<i32>(rand() % (i ? <u32>LETTERS.length : 26)));
  return s;
}

function makePerson(id: i32): Person {
  const p = new Person();
  p.id = id;
  p.name = word(4, 12) + " " + word(4, 12);
  p.email = word(3, 8).toLowerCase() + "@" + word(3, 6) + ".example";
  p.active = (rand() & 1) != 0;
  for (let i: u32 = 0, n = rand() % 6; i < n; i++) p.tags.push("tag" + (rand() % 50).toString());
  for (let i: u32 = 0, n: u32 = 1 + rand() % 10; i < n; i++) p.scores.push(<f64>(rand() % 100000) / 128.0);
  for (let i: u32 = 0, n = rand() % 20; i < n; i++) p.friends.push(<i32>(rand() % 100000));
  if (rand() % 4) p.address = new Address(word(5, 20), "city" + (rand() % 30).toString(), <i32>(rand() % 99999));
  for (let i: u32 = 0, n = rand() % 5; i < n; i++) {
    const k = "k" + (rand() % 10).toString();
    if (!p.attributes.has(k)) p.attributeKeys.push(k);
    p.attributes.set(k, word(1, 30));
  }
  return p;
}

let lastText = "";

/** `rounds` round trips of `records` records; returns a checksum of all text and aggregates. */
export function run(rounds: i32, records: i32): u32 {
  seed = 0x9E3779B9;
  let h: u32 = 2166136261;
  for (let r = 0; r < rounds; r++) {
    const people: Person[] = [];
    for (let i = 0; i < records; i++) people.push(makePerson(r * records + i));
    const doc = new Arr();
    for (let i = 0; i < people.length; i++) doc.items.push(people[i].toValue());
    const text = stringify(doc);
    const tree = new Parser(text).value();
    const back: Person[] = [];
    const items = changetype<Arr>(tree).items;
    for (let i = 0; i < items.length; i++) back.push(Person.fromValue(items[i]));
    const again = new Arr();
    for (let i = 0; i < back.length; i++) again.items.push(back[i].toValue());
    const text2 = stringify(again);
    if (text2 != text) throw new Error("round trip changed the text");
    // aggregates: tag counts and score sums per city
    const tagCount = new Map<string, i32>();
    const cityScore = new Map<string, f64>();
    for (let i = 0; i < back.length; i++) {
      const p = back[i];
      for (let j = 0; j < p.tags.length; j++) {
        const t = p.tags[j];
        tagCount.set(t, tagCount.has(t) ? tagCount.get(t) + 1 : 1);
      }
      const a = p.address;
      if (a) {
        let s = 0.0;
        for (let j = 0; j < p.scores.length; j++) s += p.scores[j];
        cityScore.set(a.city, (cityScore.has(a.city) ? cityScore.get(a.city) : 0) + s);
      }
    }
    const summary = new Obj();
    const tagKeys = tagCount.keys().sort();
    const tags = new Obj();
    for (let i = 0; i < tagKeys.length; i++) tags.set(tagKeys[i], new Num(tagCount.get(tagKeys[i])));
    summary.set("tags", tags);
    const cityKeys = cityScore.keys().sort();
    const cities = new Obj();
    for (let i = 0; i < cityKeys.length; i++) cities.set(cityKeys[i], new Num(cityScore.get(cityKeys[i])));
    summary.set("cities", cities);
    summary.set("bytes", new Num(text.length));
    const s = stringify(summary);
    for (let i = 0; i < text.length; i += 7) h = (h ^ <u32>text.charCodeAt(i)) * 16777619;
    for (let i = 0; i < s.length; i++) h = (h ^ <u32>s.charCodeAt(i)) * 16777619;
    lastText = s + "\n" + text.substring(0, 2000);
  }
  return h;
}

/** The last round's summary and the start of its JSON text (UTF-16 at result(), resultLength() units). */
export function result(): usize { return changetype<usize>(lastText); }
export function resultLength(): i32 { return lastText.length; }
