/*
 * Feasibility probe for calling oneDNN directly (docs/performance.md): libnd4jcpu.so does not export oneDNN's C
 * API, but keeps its ELF symbol table, where dnnl_* are local symbols. This finds a symbol's offset there, adds
 * the library's load address (an exported symbol's address minus its own offset, checked against dladdr) and
 * calls dnnl_version(). Run by scripts/onednn-probe; not part of the library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } dnnl_version_t;

static long symtab_value(const char *path, const char *name) {
    int fd = open(path, O_RDONLY); struct stat st; fstat(fd, &st);
    unsigned char *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0); close(fd);
    Elf64_Ehdr *eh = (Elf64_Ehdr *) m; Elf64_Shdr *sh = (Elf64_Shdr *) (m + eh->e_shoff);
    long v = -1;
    for (int i = 0; i < eh->e_shnum && v < 0; i++) {
        if (sh[i].sh_type != SHT_SYMTAB) continue;
        Elf64_Sym *sym = (Elf64_Sym *) (m + sh[i].sh_offset); const char *str = (const char *) (m + sh[sh[i].sh_link].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++)
            if (strcmp(str + sym[k].st_name, name) == 0) { v = (long) sym[k].st_value; break; }
    }
    munmap(m, st.st_size);
    return v;
}

int main(int argc, char **argv) {
    if (argc < 2) { printf("usage: onednn-symbols LIBND4JCPU_SO\n"); return 2; }
    const char *path = argv[1];
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    const char *exported = "_ZN2sd11onednnUtils13poolingONEDNNEPKNS_7NDArrayEPS1_iiiiiiiiiiN4dnnl9algorithmE";
    void *e = dlsym(h, exported);
    long ev = symtab_value(path, exported), vv = symtab_value(path, "dnnl_version");
    Dl_info info; dladdr(e, &info);
    if (!e || ev < 0 || vv < 0) { printf("symbols not found (exported %p, offsets %lx %lx)\n", e, ev, vv); return 1; }
    long base = (long) e - ev;
    if (base != (long) info.dli_fbase) { printf("load address mismatch\n"); return 1; }
    printf("base %lx (dladdr fbase %lx), dnnl_version at +%lx\n", base, (long) info.dli_fbase, vv);
    const dnnl_version_t *(*ver)(void) = (const dnnl_version_t *(*)(void)) (base + vv);
    const dnnl_version_t *v = ver();
    printf("oneDNN %d.%d.%d (%s) cpu_runtime %u\n", v->major, v->minor, v->patch, v->hash, v->cpu_runtime);
    return 0;
}
