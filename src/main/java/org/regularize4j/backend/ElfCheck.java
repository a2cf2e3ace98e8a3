package org.regularize4j.backend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks, in Java, that a file is a complete ELF64 x86-64 shared object before the dynamic loader sees it: glibc's
 * {@code dlopen} trusts the program headers and crashes the process on a truncated file (measured: a 1,000-byte
 * prefix of our library takes the JVM down inside ld.so). Validated: the magic number, class (64-bit), byte order,
 * version, type (shared object), machine (x86-64), the header sizes, and every program and section header's
 * offset and size against the file's size.
 *
 * <pre>{@code
 * String problem = ElfCheck.problem(path);   // null when dlopen may be given the file
 * }</pre>
 */
final class ElfCheck {
    private static final int EHDR_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int SHDR_SIZE = 64;
    private static final int ET_DYN = 3;
    private static final int EM_X86_64 = 62;
    private static final int PT_LOAD = 1;
    private static final int PT_DYNAMIC = 2;
    private static final int SHT_NOBITS = 8;
    private static final long MAX_SIZE = 256L << 20;

    private ElfCheck() {
    }

    /** Null if {@code file} is a complete ELF64 x86-64 shared object, else what is wrong with it. */
    static String problem(Path file) {
        long size;
        ByteBuffer b;
        try {
            size = Files.size(file);
            if (size > MAX_SIZE) {
                return "larger than " + (MAX_SIZE >> 20) + " MB";
            }
            b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            return "unreadable (" + e + ")";
        }
        if (size < EHDR_SIZE) {
            return "too short for an ELF header (" + size + " bytes)";
        }
        if (b.get(0) != 0x7f || b.get(1) != 'E' || b.get(2) != 'L' || b.get(3) != 'F') {
            return "not an ELF file (no magic number)";
        }
        if (b.get(4) != 2) {
            return "not a 64-bit ELF file (class " + b.get(4) + ")";
        }
        if (b.get(5) != 1) {
            return "not a little-endian ELF file";
        }
        if (b.get(6) != 1) {
            return "unknown ELF version " + b.get(6);
        }
        int type = Short.toUnsignedInt(b.getShort(16));
        int machine = Short.toUnsignedInt(b.getShort(18));
        if (type != ET_DYN) {
            return "not a shared object (ELF type " + type + ")";
        }
        if (machine != EM_X86_64) {
            return "not for x86-64 (ELF machine " + machine + ")";
        }
        long phoff = b.getLong(32);
        long shoff = b.getLong(40);
        int ehsize = Short.toUnsignedInt(b.getShort(52));
        int phentsize = Short.toUnsignedInt(b.getShort(54));
        int phnum = Short.toUnsignedInt(b.getShort(56));
        int shentsize = Short.toUnsignedInt(b.getShort(58));
        int shnum = Short.toUnsignedInt(b.getShort(60));
        if (ehsize != EHDR_SIZE || phentsize != PHDR_SIZE || (shnum > 0 && shentsize != SHDR_SIZE)) {
            return "unexpected header sizes (" + ehsize + ", " + phentsize + ", " + shentsize + ")";
        }
        if (phnum == 0 || !within(phoff, (long) phnum * PHDR_SIZE, size)) {
            return "program headers outside the file (" + phnum + " at " + phoff + ", file " + size + " bytes)";
        }
        boolean load = false;
        boolean dynamic = false;
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + (long) i * PHDR_SIZE);
            int ptype = b.getInt(at);
            long offset = b.getLong(at + 8);
            long filesz = b.getLong(at + 32);
            long memsz = b.getLong(at + 40);
            if (ptype == PT_LOAD || ptype == PT_DYNAMIC) {
                if (!within(offset, filesz, size) || filesz > memsz) {
                    return "segment " + i + " outside the file (" + filesz + " bytes at " + offset + ", file " + size
                            + " bytes)";
                }
                load |= ptype == PT_LOAD;
                dynamic |= ptype == PT_DYNAMIC;
            }
        }
        if (!load || !dynamic) {
            return "no loadable or dynamic segment";
        }
        if (shnum > 0) {
            if (!within(shoff, (long) shnum * SHDR_SIZE, size)) {
                return "section headers outside the file (" + shnum + " at " + shoff + ", file " + size + " bytes)";
            }
            for (int i = 0; i < shnum; i++) {
                int at = (int) (shoff + (long) i * SHDR_SIZE);
                int stype = b.getInt(at + 4);
                long offset = b.getLong(at + 24);
                long ssize = b.getLong(at + 32);
                if (stype != SHT_NOBITS && !within(offset, ssize, size)) {
                    return "section " + i + " outside the file (" + ssize + " bytes at " + offset + ", file " + size
                            + " bytes)";
                }
            }
        }
        return null;
    }

    private static boolean within(long offset, long length, long size) {
        return offset >= 0 && length >= 0 && offset <= size && length <= size - offset;
    }
}
