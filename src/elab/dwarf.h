/* dwarf.h - the DWARF debuginfo of user programs (libdw), for
 * process("PATH").function/.statement probes: where functions and source
 * lines are, and how to read their variables ($param, $local, member
 * chains, $return) from a uprobe's registers and the program's memory.
 *
 * Reading a variable.  The provider (providers_process.c) gives each
 * variable a TargetAccess with `uvar` set.  Pass 2 (types.c) and pass 3
 * (targetvars.c) both call udwarf_access() with the access's member chain:
 * pass 2 with "0" for computed indexes, to type the chain and report what
 * cannot be read ("not accessible at this address", unknown members) where
 * the script wrote it; pass 3 with the C expressions of the indexes.  The
 * answer is a TA_C_EXPR of the BPF side: a long (the value, already cut to
 * the C type's size and sign) or, for char arrays, TY_STRING whose c_expr
 * is the user-space address of the text and size its length.  Registers
 * are read with STP_UREG(K, reg) and memory with STP_UREAD(T, addr)
 * (runtime/target/stp_bpf.h), so the expression works in any handler of a
 * uprobe; addresses of globals in position-independent programs are moved
 * by the load bias, which is where the probed point is at run time
 * (K->upc) less the address the probe was placed at.
 */
#ifndef ELAB_DWARF_H
#define ELAB_DWARF_H

#include "elab/provider.h"

/* A function that has debuginfo. */
typedef struct UserFunc {
	const char *name;
	const char *file;  /* its source file, as the compile unit names it */
	int line;          /* declaration line */
	uint64_t entry;    /* address of its first instruction */
	uint64_t body;     /* the first address after its prologue (stap's .function) */
	uint64_t end;      /* first address past it */
} UserFunc;

/* The functions of `path` with debuginfo, sorted by entry; 0 when it has
 * none (stripped or built without -g). */
int udwarf_functions(Session *s, const char *path, const UserFunc **out);
/* The function whose code holds address pc, or NULL. */
const UserFunc *udwarf_function_at(Session *s, const char *path, uint64_t pc);

/* A source line with code and the lowest address of its statements. */
typedef struct UserLine {
	int line;
	uint64_t addr;
} UserLine;

/* The lines of `fn`'s source file that have statements inside `fn`,
 * sorted, each once; returns the count and sets *out (free it, also
 * when 0). */
int udwarf_lines(Session *s, const char *path, const UserFunc *fn, UserLine **out);

/* The variables visible at `pc` in `fn` (parameters first, then locals of
 * the scopes around pc), or at its return only "return".  Names (char*,
 * without '$') go to `names`, TargetAccess* with uvar and c_type ("int",
 * "struct point*" as stap spells them) to `accesses`. */
void udwarf_variables(Session *s, const char *path, const UserFunc *fn, uint64_t pc, bool at_return,
		      Vec *names, Vec *accesses);

/* A global of fn's compile unit ($counter; an extern it declares is
 * found in the unit defining it), or with "name@file" of that file's
 * compile unit (@var; "name@" looks in every unit), or NULL. */
TargetAccess *udwarf_global(Session *s, const char *path, const UserFunc *fn, uint64_t pc, const char *name);

/* "unable to find local 'x', ... (alternatives: $a, $b)": why `name` is
 * not a variable at pc. */
char *udwarf_missing(Session *s, const char *path, const UserFunc *fn, uint64_t pc, bool at_return,
		     const char *name);

/* Whether a variable belongs in "$$vars", "$$parms" or "$$locals"; for
 * a whole struct or array *shown is what stap prints for it ("{...}",
 * "[...]"), NULL otherwise. */
bool udwarf_in_context_list(const TargetAccess *var, const char *list, const char **shown);

/* The value of a variable and its member chain, as described above; NULL
 * with *err (and *err_at, the component at fault, -1 for the variable) when
 * it cannot be read. */
TargetAccess *udwarf_access(const TargetAccess *var, const Component *comps, int ncomps, char **index_exprs,
			    char **err, int *err_at);

#endif
