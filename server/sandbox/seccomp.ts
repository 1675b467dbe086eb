// A classic-BPF seccomp filter for app processes, given to bwrap (--seccomp). It refuses to create
// user namespaces: inside one, an app would be "root" over nothing of the host, but could reach
// kernel code (mounts, netfilter, …) an unprivileged process never touches. Everything else runs.

// struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little endian here).
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const OFFSET_ARG0_LOW = 16;

const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_JSET_K = 0x45;
const BPF_RET_K = 0x06;

const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;
/** x32 system calls on x86_64 carry this bit; refused, so they cannot go around the numbers below. */
const X32_SYSCALL_BIT = 0x40000000;

const ARCHES: Partial<Record<NodeJS.Architecture, { audit: number; unshare: number; clone: number; clone3: number }>> = {
  x64: { audit: 0xc000003e, unshare: 272, clone: 56, clone3: 435 },
  arm64: { audit: 0xc00000b7, unshare: 97, clone: 220, clone3: 435 },
};

type Insn = [code: number, jt: number, jf: number, k: number];

/**
 * The filter as bwrap reads it (struct sock_filter[]), for this machine's architecture; undefined
 * where paas has no system call numbers for it (then no filter is loaded).
 */
export function noUserNamespacesFilter(arch: NodeJS.Architecture = process.arch): Buffer | undefined {
  const a = ARCHES[arch];
  if (!a) return undefined;
  const allow = SECCOMP_RET_ALLOW;
  const eperm = SECCOMP_RET_ERRNO | EPERM;
  // clone3 passes its flags in memory a filter cannot read: say it does not exist, and glibc falls
  // back to clone, whose flags it can.
  const enosys = SECCOMP_RET_ERRNO | ENOSYS;
  const program: Insn[] = [
    [BPF_LD_W_ABS, 0, 0, OFFSET_ARCH],
    [BPF_JEQ_K, 1, 0, a.audit], //  another ABI (i386 on x86_64): refuse
    [BPF_RET_K, 0, 0, eperm],
    [BPF_LD_W_ABS, 0, 0, OFFSET_NR],
    [BPF_JGE_K, 0, 1, X32_SYSCALL_BIT],
    [BPF_RET_K, 0, 0, eperm],
    [BPF_JEQ_K, 0, 1, a.clone3],
    [BPF_RET_K, 0, 0, enosys],
    [BPF_JEQ_K, 1, 0, a.unshare],
    [BPF_JEQ_K, 0, 3, a.clone],
    [BPF_LD_W_ABS, 0, 0, OFFSET_ARG0_LOW],
    [BPF_JSET_K, 0, 1, CLONE_NEWUSER],
    [BPF_RET_K, 0, 0, eperm],
    [BPF_RET_K, 0, 0, allow],
  ];
  const buf = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}
