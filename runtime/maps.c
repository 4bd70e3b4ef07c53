/* maps.c - global arrays and statistics for host handlers, over the same
 * BPF maps the kernel handlers use (one mechanism for both sides).
 *
 * A global's map is the BPF object's map named map_name; a global that
 * only host handlers touch, or any global of a module without a BPF
 * object, gets a map created here from its descriptor:
 *   arrays          BPF_MAP_TYPE_HASH, key_size / value_size / maxsize;
 *   stats (keyed)   BPF_MAP_TYPE_PERCPU_HASH if percpu, else HASH;
 *   stats (scalar)  BPF_MAP_TYPE_PERCPU_ARRAY (or ARRAY) of one entry,
 *                   key a u32 0 (host code passes key NULL).
 * Per-CPU values are read for every possible CPU, each rounded up to 8
 * bytes, and summed.  A host `<<<` on a per-CPU map that kernel handlers
 * also update runs in the kernel (stat_add_in_kernel); otherwise it adds
 * to CPU 0's copy.
 */
#include "rt.h"
#include "stats.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAXMAPENTRIES 2048

static const struct stp_global_desc *gdesc(struct stp_session *s, int gid)
{
	return gid >= 0 && gid < s->mod->nglobals ? &s->mod->globals[gid] : NULL;
}

static uint32_t key_size(const struct stp_global_desc *g)
{
	return g->nkeys ? g->key_size : 4;
}

static const void *key_or_zero(const struct stp_global_desc *g, const void *key)
{
	static const uint32_t zero;
	return g->nkeys && key ? key : &zero;
}

static size_t value_size(const struct stp_global_desc *g)
{
	if (g->type == STP_T_STATS) {
		size_t need = stp_stat_size(g);
		return g->value_size > need ? g->value_size : need;
	}
	return g->value_size ? g->value_size : 8;
}

static size_t percpu_stride(const struct stp_global_desc *g)
{
	return (value_size(g) + 7) & ~(size_t)7;
}

static int map_fd(struct stp_session *s, int gid, const struct stp_global_desc **g)
{
	*g = gdesc(s, gid);
	if (!*g || !s->map_fds || s->map_fds[gid] < 0) {
		rt_report_error(s, "internal error: global without a map", (*g) ? (*g)->name : NULL);
		return -1;
	}
	return s->map_fds[gid];
}

/* ------------------------------------------------------------ creation */

static int needs_map(const struct stp_global_desc *g)
{
	return g->map_name || g->nkeys > 0 || g->type == STP_T_STATS;
}

static int create_map(struct stp_session *s, const struct stp_global_desc *g)
{
	enum bpf_map_type type;
	uint32_t max = g->maxsize > 0 ? (uint32_t)g->maxsize
		       : s->mod->limits.maxmapentries > 0 ? (uint32_t)s->mod->limits.maxmapentries
							  : DEFAULT_MAXMAPENTRIES;
	if (g->type == STP_T_STATS && g->nkeys == 0) {
		type = g->percpu ? BPF_MAP_TYPE_PERCPU_ARRAY : BPF_MAP_TYPE_ARRAY;
		max = 1;
	} else if (g->type == STP_T_STATS && g->percpu) {
		type = BPF_MAP_TYPE_PERCPU_HASH;
	} else {
		type = BPF_MAP_TYPE_HASH;
	}
	char name[BPF_OBJ_NAME_LEN] = "";
	size_t j = 0;
	for (const char *p = g->name; *p && j < sizeof(name) - 1; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
			name[j++] = *p;
	int fd = bpf_map_create(type, name, key_size(g), (uint32_t)value_size(g), max, NULL);
	if (fd < 0)
		fprintf(stderr, "ERROR: cannot create the map of global '%s': %s\n", g->name, strerror(errno));
	return fd;
}

int rt_maps_create_missing(struct stp_session *s)
{
	int n = s->mod->nglobals;
	s->map_fds = calloc((size_t)n + 1, sizeof(int));
	s->own_map = calloc((size_t)n + 1, sizeof(int));
	s->ncpus = libbpf_num_possible_cpus();
	if (!s->map_fds || !s->own_map || s->ncpus <= 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const struct stp_global_desc *g = &s->mod->globals[i];
		s->map_fds[i] = -1;
		if (!needs_map(g))
			continue;
		struct bpf_map *m = s->obj && g->map_name ? bpf_object__find_map_by_name(s->obj, g->map_name) : NULL;
		if (m) {
			s->map_fds[i] = bpf_map__fd(m);
			continue;
		}
		s->map_fds[i] = create_map(s, g);
		if (s->map_fds[i] < 0)
			return -1;
		s->own_map[i] = 1;
	}
	return 0;
}

void rt_maps_close(struct stp_session *s)
{
	for (int i = 0; s->map_fds && i < s->mod->nglobals; i++)
		if (s->own_map[i] && s->map_fds[i] >= 0)
			close(s->map_fds[i]);
	free(s->map_fds);
	free(s->own_map);
	s->map_fds = s->own_map = NULL;
}

/* ------------------------------------------------------------- arrays */

bool stp_rt_map_lookup(struct stp_ctx *c, int gid, const void *key, void *value)
{
	struct stp_session *s = c->rt;
	const struct stp_global_desc *g;
	int fd = map_fd(s, gid, &g);
	if (fd >= 0 && bpf_map_lookup_elem(fd, key_or_zero(g, key), value) == 0)
		return true;
	if (g)
		memset(value, 0, value_size(g));
	return false;
}

/* Any one key, to make room in a full wrap-around (%) array. */
static void evict_one(int fd, const struct stp_global_desc *g)
{
	char *k = calloc(1, key_size(g));
	if (k && bpf_map_get_next_key(fd, NULL, k) == 0)
		bpf_map_delete_elem(fd, k);
	free(k);
}

/* 0, or -1 when the array is full: the caller reports "Array overflow,
 * check MAXMAPENTRIES" at its own error site. */
int stp_rt_map_update(struct stp_ctx *c, int gid, const void *key, const void *value)
{
	struct stp_session *s = c->rt;
	const struct stp_global_desc *g;
	int fd = map_fd(s, gid, &g);
	if (fd < 0)
		return -1;
	const void *k = key_or_zero(g, key);
	if (bpf_map_update_elem(fd, k, value, BPF_ANY) == 0)
		return 0;
	if (errno == E2BIG && g->wrap) {
		evict_one(fd, g);
		if (bpf_map_update_elem(fd, k, value, BPF_ANY) == 0)
			return 0;
	}
	return -1;
}

void stp_rt_map_delete(struct stp_ctx *c, int gid, const void *key)
{
	const struct stp_global_desc *g;
	int fd = map_fd(c->rt, gid, &g);
	if (fd >= 0)
		bpf_map_delete_elem(fd, key_or_zero(g, key));
}

/* Every key of the map, key_size bytes each; returns the count. */
static size_t all_keys(int fd, const struct stp_global_desc *g, char **out)
{
	size_t ks = key_size(g), n = 0, cap = 64;
	char *keys = malloc(cap * ks);
	const void *prev = NULL;
	while (keys) {
		if (n == cap) {
			char *k = realloc(keys, 2 * cap * ks);
			if (!k)
				break;
			keys = k;
			cap *= 2;
		}
		if (bpf_map_get_next_key(fd, prev, keys + n * ks) != 0)
			break;
		prev = keys + n * ks;
		n++;
	}
	*out = keys;
	return n;
}

void stp_rt_map_clear(struct stp_ctx *c, int gid)
{
	const struct stp_global_desc *g;
	int fd = map_fd(c->rt, gid, &g);
	if (fd < 0)
		return;
	if (g->nkeys == 0) { /* a scalar stats: zero its one entry */
		size_t size = percpu_stride(g) * (size_t)((struct stp_session *)c->rt)->ncpus;
		void *zero = calloc(1, size);
		if (zero)
			bpf_map_update_elem(fd, key_or_zero(g, NULL), zero, BPF_ANY);
		free(zero);
		return;
	}
	char *keys;
	size_t n = all_keys(fd, g, &keys);
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size(g));
	free(keys);
}

bool stp_rt_map_exists(struct stp_ctx *c, int gid, const void *key)
{
	struct stp_session *s = c->rt;
	const struct stp_global_desc *g;
	int fd = map_fd(s, gid, &g);
	if (fd < 0)
		return false;
	size_t size = percpu_stride(g) * (size_t)s->ncpus;
	void *v = malloc(size);
	bool found = v && bpf_map_lookup_elem(fd, key_or_zero(g, key), v) == 0;
	free(v);
	return found;
}

int64_t stp_rt_map_size(struct stp_ctx *c, int gid)
{
	const struct stp_global_desc *g;
	int fd = map_fd(c->rt, gid, &g);
	if (fd < 0)
		return 0;
	char *keys;
	size_t n = all_keys(fd, g, &keys);
	free(keys);
	return (int64_t)n;
}

/* ---------------------------------------------------------- statistics */

static int is_percpu(const struct stp_global_desc *g)
{
	return g->type == STP_T_STATS && g->percpu;
}

/* Reads the aggregate for key into out (value_size bytes, zeroed first). */
static bool stat_read(struct stp_session *s, int fd, const struct stp_global_desc *g, const void *key,
		      struct stp_stat *out)
{
	size_t vs = value_size(g);
	memset(out, 0, vs);
	if (!is_percpu(g))
		return bpf_map_lookup_elem(fd, key_or_zero(g, key), out) == 0 && out->count > 0;
	size_t stride = percpu_stride(g);
	char *all = malloc(stride * (size_t)s->ncpus);
	bool found = all && bpf_map_lookup_elem(fd, key_or_zero(g, key), all) == 0;
	for (int cpu = 0; found && cpu < s->ncpus; cpu++)
		stp_stat_merge(g, out, (const struct stp_stat *)(all + stride * (size_t)cpu));
	free(all);
	return found && out->count > 0;
}

/* A host `<<<` on a statistic that kernel handlers also update runs in
 * the kernel: the module's program stp_hostadd_GID adds the value kept in
 * stp_hostop to the current CPU's copy (see emit_host_add_programs in
 * the translator), so no concurrent kernel update is lost.  False when
 * the module has no such program. */
static bool stat_add_in_kernel(struct stp_session *s, const struct stp_global_desc *g, int gid,
			       const void *key, int64_t v)
{
	char name[32];
	snprintf(name, sizeof(name), "stp_hostadd_%d", gid);
	struct bpf_program *prog = s->obj ? bpf_object__find_program_by_name(s->obj, name) : NULL;
	struct bpf_map *m = prog ? bpf_object__find_map_by_name(s->obj, "stp_hostop") : NULL;
	if (!m || bpf_program__fd(prog) < 0)
		return false;
	size_t vs = bpf_map__value_size(m);
	char *op = calloc(1, vs);
	if (!op)
		return false;
	memcpy(op, &v, 8);
	if (g->nkeys && key)
		memcpy(op + 8, key, key_size(g) < vs - 8 ? key_size(g) : vs - 8);
	uint32_t zero = 0;
	uint64_t args[1] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = args, .ctx_size_in = sizeof(args));
	bool ok = bpf_map_update_elem(bpf_map__fd(m), &zero, op, BPF_ANY) == 0 &&
		  bpf_prog_test_run_opts(bpf_program__fd(prog), &run) == 0;
	free(op);
	return ok;
}

void stp_rt_stat_add(struct stp_ctx *c, int gid, const void *key, int64_t v)
{
	struct stp_session *s = c->rt;
	const struct stp_global_desc *g;
	int fd = map_fd(s, gid, &g);
	if (fd < 0)
		return;
	if (is_percpu(g) && stat_add_in_kernel(s, g, gid, key, v))
		return;
	size_t size = is_percpu(g) ? percpu_stride(g) * (size_t)s->ncpus : value_size(g);
	char *all = calloc(1, size);
	if (!all)
		return;
	const void *k = key_or_zero(g, key);
	if (bpf_map_lookup_elem(fd, k, all) != 0)
		memset(all, 0, size);
	stp_stat_add_value(g, (struct stp_stat *)all, v);
	if (bpf_map_update_elem(fd, k, all, BPF_ANY) != 0 && errno == E2BIG && g->wrap) {
		evict_one(fd, g);
		bpf_map_update_elem(fd, k, all, BPF_ANY);
	}
	free(all);
}

bool stp_rt_stat_read(struct stp_ctx *c, int gid, const void *key, struct stp_stat *out)
{
	const struct stp_global_desc *g;
	int fd = map_fd(c->rt, gid, &g);
	if (fd < 0) {
		if (g)
			memset(out, 0, value_size(g));
		return false;
	}
	return stat_read(c->rt, fd, g, key, out);
}

int64_t stp_rt_stat_extract(struct stp_ctx *c, const struct stp_stat *s, int op)
{
	return stp_stat_value(s, op);
}

void stp_rt_hist_print(struct stp_ctx *c, int gid, const struct stp_stat *st)
{
	struct stp_session *s = c->rt;
	const struct stp_global_desc *g = gdesc(s, gid);
	if (!g)
		return;
	stp_hist_format(&s->out, g, st);
	rt_out_write(s, NULL, 0);
}

/* ------------------------------------------------------------- foreach */

struct stp_iter {
	struct stp_session *s;
	const struct stp_global_desc *g;
	size_t ks, vs;
	char *keys, *vals;
	size_t *order;
	size_t n, pos;
	int sort_key, dir, stat_op;
};

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* Compares one key field of two keys. */
static int cmp_key_field(const struct stp_key_desc *k, const char *a, const char *b)
{
	if (k->type == STP_T_STRING)
		return strncmp(a + k->offset, b + k->offset, k->size);
	int64_t x, y;
	memcpy(&x, a + k->offset, 8);
	memcpy(&y, b + k->offset, 8);
	return cmp_i64(x, y);
}

static int cmp_value(const struct stp_iter *it, size_t a, size_t b)
{
	const char *va = it->vals + a * it->vs, *vb = it->vals + b * it->vs;
	switch (it->g->type) {
	case STP_T_STRING:
		return strncmp(va, vb, it->vs);
	case STP_T_STATS:
		return cmp_i64(stp_stat_value((const struct stp_stat *)va, it->stat_op),
			       stp_stat_value((const struct stp_stat *)vb, it->stat_op));
	default: {
		int64_t x, y;
		memcpy(&x, va, 8);
		memcpy(&y, vb, 8);
		return cmp_i64(x, y);
	}
	}
}

static int cmp_all_keys(const struct stp_iter *it, size_t a, size_t b)
{
	for (int i = 0; i < it->g->nkeys; i++) {
		int r = cmp_key_field(&it->g->keys[i], it->keys + a * it->ks, it->keys + b * it->ks);
		if (r)
			return r;
	}
	return 0;
}

static const struct stp_iter *sorting;

/* The chosen order, then the keys ascending, so ties print the same way
 * on every run (BPF hash order is arbitrary). */
static int cmp_entries(const void *pa, const void *pb)
{
	const struct stp_iter *it = sorting;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int r = 0;
	if (it->sort_key == 0)
		r = cmp_value(it, a, b);
	else if (it->sort_key > 0 && it->sort_key <= it->g->nkeys)
		r = cmp_key_field(&it->g->keys[it->sort_key - 1], it->keys + a * it->ks, it->keys + b * it->ks);
	if (r)
		return it->dir < 0 ? -r : r;
	r = cmp_all_keys(it, a, b);
	return r ? r : cmp_i64((int64_t)a, (int64_t)b);
}

static bool load_values(struct stp_iter *it, int fd)
{
	size_t keep = 0;
	for (size_t i = 0; i < it->n; i++) {
		const char *k = it->keys + i * it->ks;
		char *v = it->vals + keep * it->vs;
		bool ok = it->g->type == STP_T_STATS
				  ? stat_read(it->s, fd, it->g, k, (struct stp_stat *)v) || true
				  : bpf_map_lookup_elem(fd, k, v) == 0;
		if (!ok) /* deleted since the keys were read */
			continue;
		memmove(it->keys + keep * it->ks, k, it->ks);
		keep++;
	}
	it->n = keep;
	return true;
}

struct stp_iter *stp_rt_iter_begin(struct stp_ctx *c, int gid, int sort_key, int dir, int64_t limit, int stat_op)
{
	struct stp_session *s = c->rt;
	const struct stp_global_desc *g;
	int fd = map_fd(s, gid, &g);
	struct stp_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->s = s;
	it->g = g;
	it->sort_key = sort_key;
	it->dir = dir < 0 ? -1 : 1;
	it->stat_op = stat_op;
	if (fd < 0)
		return it;
	it->ks = key_size(g);
	it->vs = value_size(g);
	it->n = all_keys(fd, g, &it->keys);
	it->vals = calloc(it->n + 1, it->vs);
	it->order = calloc(it->n + 1, sizeof(size_t));
	if (!it->keys || !it->vals || !it->order) {
		it->n = 0;
		return it;
	}
	load_values(it, fd);
	for (size_t i = 0; i < it->n; i++)
		it->order[i] = i;
	if (sort_key >= 0) {
		sorting = it;
		qsort(it->order, it->n, sizeof(size_t), cmp_entries);
		sorting = NULL;
	}
	if (limit >= 0 && (uint64_t)limit < it->n)
		it->n = (size_t)limit;
	return it;
}

bool stp_rt_iter_next(struct stp_iter *it, void *key, void *value)
{
	if (!it || it->pos >= it->n)
		return false;
	size_t i = it->order[it->pos++];
	if (key)
		memcpy(key, it->keys + i * it->ks, it->ks);
	if (value)
		memcpy(value, it->vals + i * it->vs, it->vs);
	return true;
}

void stp_rt_iter_end(struct stp_iter *it)
{
	if (!it)
		return;
	free(it->keys);
	free(it->vals);
	free(it->order);
	free(it);
}
