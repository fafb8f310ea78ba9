/* driver.c — a SQL workload on an in-memory SQLite database, for comparing allocators.
 *
 * Usage: driver [rows]   (default 100000 orders; customers = rows / 10)
 * Creates tables, inserts rows with variable-length text, builds indexes, runs joins, GROUP BY,
 * window functions, UPDATE, DELETE and VACUUM, and prints an FNV-1a checksum of every result
 * row after each phase, then "checksum <hex>". Under any allocator the output must be the same.
 *
 * SQLite is built with SQLITE_OS_OTHER=1: this file supplies the VFS (sqlite3_os_init). The
 * database is ":memory:" and temp storage is memory (SQLITE_TEMP_STORE=3); the few files SQLite
 * still opens (VACUUM) are malloc'd buffers. Randomness and clock are fixed so that runs are
 * reproducible.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"

/* ---- the VFS: files in memory, fixed time, deterministic randomness ---------------------- */
/* Every xOpen makes a fresh, private file in a malloc'd buffer: enough for the temp files SQLite
 * may still open (VACUUM's copy, statement journals); nothing outlives its close. */
typedef struct MemFile { sqlite3_file base; unsigned char *data; sqlite3_int64 size, cap; } MemFile;

static int memClose(sqlite3_file *f) { free(((MemFile *)f)->data); return SQLITE_OK; }
static int memRead(sqlite3_file *f, void *buf, int n, sqlite3_int64 off) {
  MemFile *m = (MemFile *)f;
  if (off >= m->size) { memset(buf, 0, n); return SQLITE_IOERR_SHORT_READ; }
  sqlite3_int64 have = m->size - off;
  if (have >= n) { memcpy(buf, m->data + off, n); return SQLITE_OK; }
  memcpy(buf, m->data + off, have);
  memset((char *)buf + have, 0, n - have);
  return SQLITE_IOERR_SHORT_READ;
}
static int memWrite(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off) {
  MemFile *m = (MemFile *)f;
  if (off + n > m->cap) {
    sqlite3_int64 cap = m->cap ? m->cap : 65536;
    while (cap < off + n) cap *= 2;
    unsigned char *d = realloc(m->data, cap);
    if (!d) return SQLITE_IOERR_NOMEM;
    m->data = d; m->cap = cap;
  }
  if (off > m->size) memset(m->data + m->size, 0, off - m->size);
  memcpy(m->data + off, buf, n);
  if (off + n > m->size) m->size = off + n;
  return SQLITE_OK;
}
static int memTruncate(sqlite3_file *f, sqlite3_int64 size) {
  MemFile *m = (MemFile *)f;
  if (size < m->size) m->size = size;
  return SQLITE_OK;
}
static int memSync(sqlite3_file *f, int flags) { (void)f; (void)flags; return SQLITE_OK; }
static int memFileSize(sqlite3_file *f, sqlite3_int64 *size) { *size = ((MemFile *)f)->size; return SQLITE_OK; }
static int memLock(sqlite3_file *f, int level) { (void)f; (void)level; return SQLITE_OK; }
static int memCheckReservedLock(sqlite3_file *f, int *out) { (void)f; *out = 0; return SQLITE_OK; }
static int memFileControl(sqlite3_file *f, int op, void *arg) { (void)f; (void)op; (void)arg; return SQLITE_NOTFOUND; }
static int memSectorSize(sqlite3_file *f) { (void)f; return 512; }
static int memDeviceCharacteristics(sqlite3_file *f) { (void)f; return 0; }

static const sqlite3_io_methods memMethods = {
  1, memClose, memRead, memWrite, memTruncate, memSync, memFileSize, memLock, memLock,
  memCheckReservedLock, memFileControl, memSectorSize, memDeviceCharacteristics,
};

static int vfsOpen(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out) {
  (void)v; (void)name;
  MemFile *m = (MemFile *)f;
  memset(m, 0, sizeof *m);
  m->base.pMethods = &memMethods;
  if (out) *out = flags;
  return SQLITE_OK;
}
static int vfsDelete(sqlite3_vfs *v, const char *name, int sync) { (void)v; (void)name; (void)sync; return SQLITE_OK; }
static int vfsAccess(sqlite3_vfs *v, const char *name, int flags, int *res) { (void)v; (void)name; (void)flags; *res = 0; return SQLITE_OK; }
static int vfsFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) {
  (void)v; sqlite3_snprintf(n, out, "%s", name); return SQLITE_OK;
}
static int vfsRandomness(sqlite3_vfs *v, int n, char *out) {
  (void)v; static uint32_t x = 2463534242u;
  for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; out[i] = (char)x; }
  return n;
}
static int vfsSleep(sqlite3_vfs *v, int us) { (void)v; return us; }
static int vfsCurrentTime(sqlite3_vfs *v, double *t) { (void)v; *t = 2460000.5; return SQLITE_OK; }
static int vfsCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; *t = (sqlite3_int64)2460000 * 86400000 + 43200000; return SQLITE_OK; }
static int vfsGetLastError(sqlite3_vfs *v, int n, char *s) { (void)v; (void)n; (void)s; return 0; }

static sqlite3_vfs memVfs = {
  2, sizeof(MemFile), 512, 0, "memonly", 0, vfsOpen, vfsDelete, vfsAccess, vfsFullPathname,
  0, 0, 0, 0, vfsRandomness, vfsSleep, vfsCurrentTime, vfsGetLastError, vfsCurrentTimeInt64,
};
int sqlite3_os_init(void) { return sqlite3_vfs_register(&memVfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

/* ---- the workload ------------------------------------------------------------------------- */
static sqlite3 *db;
static uint64_t total = 1469598103934665603ull;

static void die(const char *what) {
  printf("error: %s: %s\n", what, sqlite3_errmsg(db));
  exit(2);
}
static void exec(const char *sql) {
  char *err = 0;
  if (sqlite3_exec(db, sql, 0, 0, &err) != SQLITE_OK) { printf("error: %s\n  in: %s\n", err, sql); exit(2); }
}
static uint64_t fnv(uint64_t h, const unsigned char *s, int n) {
  for (int i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ull; }
  return h;
}
/* Runs a query; hashes every column of every row as text. */
static void query(const char *label, const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, 0) != SQLITE_OK) die(sql);
  uint64_t h = 1469598103934665603ull;
  long rows = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int nc = sqlite3_column_count(st);
    for (int c = 0; c < nc; c++) {
      const unsigned char *t = sqlite3_column_text(st, c);
      h = fnv(h, t ? t : (const unsigned char *)"NULL", t ? sqlite3_column_bytes(st, c) : 4);
      h = fnv(h, (const unsigned char *)"|", 1);
    }
    rows++;
  }
  if (rc != SQLITE_DONE) die(sql);
  sqlite3_finalize(st);
  total = fnv(total, (const unsigned char *)&h, sizeof h);
  printf("%-22s %8ld rows  %016llx\n", label, rows, (unsigned long long)h);
}

static uint32_t rng = 88172645u;
static uint32_t next(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static void text(char *buf, int n) {
  static const char al[] = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (int i = 0; i < n; i++) buf[i] = al[next() % (sizeof al - 1)];
  buf[n] = 0;
}

int main(int argc, char **argv) {
  long rows = argc > 1 ? atol(argv[1]) : 100000;
  long customers = rows / 10 > 0 ? rows / 10 : 1;
  static const char *cities[] = {"Oslo", "Lima", "Pune", "Kyiv", "Quito", "Accra", "Hanoi", "Perth",
                                 "Cork", "Fez", "Bern", "Riga", "Dili", "Suva", "Baku", "Male"};
  char buf[512];
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("open");
  exec("PRAGMA cache_size = -16000");
  exec("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL);"
       "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INT, amount REAL, day INT, note TEXT);"
       "CREATE TABLE tags(order_id INT, tag TEXT);");

  sqlite3_stmt *ins;
  exec("BEGIN");
  if (sqlite3_prepare_v2(db, "INSERT INTO customers VALUES(?,?,?,?)", -1, &ins, 0)) die("prepare");
  for (long i = 1; i <= customers; i++) {
    text(buf, 5 + next() % 40);
    sqlite3_bind_int64(ins, 1, i);
    sqlite3_bind_text(ins, 2, buf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, cities[next() % 16], -1, SQLITE_STATIC);
    sqlite3_bind_double(ins, 4, (next() % 100000) / 100.0);
    if (sqlite3_step(ins) != SQLITE_DONE) die("insert customer");
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  if (sqlite3_prepare_v2(db, "INSERT INTO orders VALUES(?,?,?,?,?)", -1, &ins, 0)) die("prepare");
  sqlite3_stmt *tag;
  if (sqlite3_prepare_v2(db, "INSERT INTO tags VALUES(?,?)", -1, &tag, 0)) die("prepare");
  for (long i = 1; i <= rows; i++) {
    int n = next() % 8 == 0 ? 100 + next() % 300 : 4 + next() % 60;
    text(buf, n);
    sqlite3_bind_int64(ins, 1, i);
    sqlite3_bind_int64(ins, 2, 1 + next() % customers);
    sqlite3_bind_double(ins, 3, (next() % 1000000) / 100.0);
    sqlite3_bind_int(ins, 4, next() % 365);
    sqlite3_bind_text(ins, 5, buf, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(ins) != SQLITE_DONE) die("insert order");
    sqlite3_reset(ins);
    if (i % 3 == 0) {
      text(buf, 3 + next() % 8);
      sqlite3_bind_int64(tag, 1, i);
      sqlite3_bind_text(tag, 2, buf, -1, SQLITE_TRANSIENT);
      if (sqlite3_step(tag) != SQLITE_DONE) die("insert tag");
      sqlite3_reset(tag);
    }
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(tag);
  exec("COMMIT");
  query("count", "SELECT count(*), sum(amount), max(length(note)) FROM orders");

  exec("CREATE INDEX orders_customer ON orders(customer_id);"
       "CREATE INDEX orders_day ON orders(day, amount);"
       "CREATE INDEX customers_city ON customers(city);"
       "CREATE INDEX tags_order ON tags(order_id);");
  query("join group by",
        "SELECT c.city, count(*), round(sum(o.amount), 2), round(avg(o.amount), 4), max(o.day) "
        "FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.city ORDER BY c.city");
  query("join top customers",
        "SELECT c.id, c.name, sum(o.amount) AS s FROM customers c JOIN orders o ON o.customer_id = c.id "
        "GROUP BY c.id ORDER BY s DESC, c.id LIMIT 500");
  query("three-way join",
        "SELECT t.tag, o.day, c.city FROM tags t JOIN orders o ON o.id = t.order_id "
        "JOIN customers c ON c.id = o.customer_id WHERE o.day BETWEEN 100 AND 110 ORDER BY t.tag, o.id");
  query("window rank",
        "SELECT customer_id, id, amount, rank() OVER (PARTITION BY customer_id ORDER BY amount DESC), "
        "round(sum(amount) OVER (PARTITION BY customer_id ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), 2) "
        "FROM orders WHERE customer_id % 7 = 0 ORDER BY customer_id, id");
  query("window day",
        "SELECT day, count(*), round(sum(sum(amount)) OVER (ORDER BY day), 2), "
        "ntile(4) OVER (ORDER BY count(*) DESC, day) FROM orders GROUP BY day ORDER BY day");
  query("group_concat",
        "SELECT customer_id, group_concat(substr(note, 1, 8), ',') FROM orders "
        "WHERE customer_id <= 2000 GROUP BY customer_id ORDER BY customer_id");
  query("distinct upper like",
        "SELECT DISTINCT upper(substr(note, 1, 3)) FROM orders WHERE note LIKE '%ab%' ORDER BY 1");

  exec("UPDATE orders SET amount = amount * 1.1, note = note || '-upd' WHERE day % 7 = 0");
  exec("UPDATE customers SET score = score + 1 WHERE city IN ('Oslo', 'Lima', 'Pune')");
  query("after update", "SELECT count(*), round(sum(amount), 2), sum(length(note)) FROM orders");
  exec("DELETE FROM orders WHERE amount < 2500");
  exec("DELETE FROM tags WHERE order_id NOT IN (SELECT id FROM orders)");
  query("after delete", "SELECT count(*), round(sum(amount), 2) FROM orders");
  exec("VACUUM");
  query("after vacuum",
        "SELECT c.city, count(*), round(sum(o.amount), 2) FROM orders o JOIN customers c "
        "ON c.id = o.customer_id GROUP BY c.city ORDER BY 3 DESC");
  query("integrity", "PRAGMA integrity_check");
  sqlite3_close(db);
  printf("checksum %016llx\n", (unsigned long long)total);
  return 0;
}
