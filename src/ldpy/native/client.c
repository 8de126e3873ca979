/* The gcc shim's `ld` as a native program: with LDPY_SERVER=1 it hands the link to
 * the ldpy link server without starting Python (ldpy/server.py describes the
 * protocol; this is run_client() in C).  Whenever the server cannot take the link
 * (none runs, refused, protocol trouble, a FALLBACK reply) and without LDPY_SERVER=1,
 * it execs Python on ldpy's entry, exactly as the /bin/sh shim does.
 *
 * main.shim_dir() compiles it with a header (-include) defining the values the sh
 * shim bakes in: LDPY_PYTHON (sys.executable), LDPY_BOOT (the -c program),
 * LDPY_PKG (the ldpy package directory), LDPY_STDLIB (os.py's directory),
 * LDPY_SEARCH (the server's search path, a NULL-terminated initializer) and
 * LDPY_STAMP.  C99 and libc only. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef LDPY_PYTHON
#error "compile with -include of the baked values (see ldpy.main.shim_dir)"
#endif

/* found in the binary by main.write_shim() (external: the compiler keeps it) */
const char ldpy_stamp[] = "LDPY-STAMP:" LDPY_STAMP;
static const char *const search_path[] = LDPY_SEARCH;

#define FALLBACK (255u << 8)
static char **args;
static int nargs;

/* Link the Python way: in-process, starting a server if LDPY_SERVER=1 (never returns).
 * The interpreter runs apart from the build's settings (ldpy/main.py SHIM_FLAGS): -I -S,
 * and LD_LIBRARY_PATH as `ldpy --print-shim-dir` had it (LDPY_LD_LIBRARY_PATH, unset
 * if not defined); the caller's goes along as LDPY_CALLER_LD_LIBRARY_PATH. */
static void exec_python(void)
{
    const char *caller = getenv("LD_LIBRARY_PATH");
    char **av = calloc((size_t)nargs + 5, sizeof *av);
    if (av && unsetenv("LDPY_CALLER_LD_LIBRARY_PATH") == 0 &&
        (!caller || setenv("LDPY_CALLER_LD_LIBRARY_PATH", caller, 1) == 0) &&
        setenv("LDPY_CALLER_ENV", "1", 1) == 0 &&
#ifdef LDPY_LD_LIBRARY_PATH
        setenv("LD_LIBRARY_PATH", LDPY_LD_LIBRARY_PATH, 1) == 0
#else
        unsetenv("LD_LIBRARY_PATH") == 0
#endif
        ) {
        av[0] = (char *)LDPY_PYTHON;
        av[1] = "-I";
        av[2] = "-S";
        av[3] = "-c";
        av[4] = (char *)LDPY_BOOT;
        for (int i = 1; i < nargs; i++)
            av[4 + i] = args[i];
        execv(LDPY_PYTHON, av);
    }
    fprintf(stderr, "ldpy: cannot run %s: %s\n", LDPY_PYTHON, strerror(errno));
    _exit(127);
}

/* ---- a growable byte buffer; running out of memory means "let Python do it" */
typedef struct { char *p; size_t n, cap; } buf;

static void put(buf *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            exec_python();
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void putll(buf *b, long long v)
{
    char t[32];
    put(b, t, (size_t)snprintf(t, sizeof t, "%lld", v));
}

static long long mtime_ns(const struct stat *st)
{
    return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* ---- the server KEY, byte for byte as server._key() ------------------------------- */
static uint32_t crc32_(const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t adler32_(const unsigned char *p, size_t n)
{
    uint32_t a = 1, b = 0;
    while (n) {
        size_t chunk = n < 5552 ? n : 5552;     /* (no overflow before the modulo) */
        n -= chunk;
        while (chunk--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

typedef struct { char *name; int isdir; } entry;

static int by_name(const void *x, const void *y)
{
    return strcmp(((const entry *)x)->name, ((const entry *)y)->name);
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && memcmp(s + n - m, tail, m) == 0;
}

/* Every ldpy .py file's path, size and mtime: the directories as a stack (the last
 * one found is walked first), each directory's entries sorted by name.  0 on error. */
static int walk_sources(buf *parts)
{
    size_t nstack = 1, capstack = 16;
    char **stack = malloc(capstack * sizeof *stack);
    if (!stack || !(stack[0] = strdup(LDPY_PKG)))
        return 0;
    while (nstack) {
        char *d = stack[--nstack];
        DIR *dir = opendir(d);
        if (!dir)
            return 0;
        entry *es = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            if (n == cap && !(es = realloc(es, (cap = cap ? 2 * cap : 64) * sizeof *es)))
                return 0;
            es[n].name = strdup(de->d_name);
            es[n].isdir = de->d_type == DT_DIR ? 1 : de->d_type == DT_UNKNOWN ? -1 : 0;
            if (!es[n++].name)
                return 0;
        }
        closedir(dir);
        qsort(es, n, sizeof *es, by_name);
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(d) + strlen(es[i].name) + 2;
            char *path = malloc(len);
            if (!path)
                return 0;
            snprintf(path, len, "%s/%s", d, es[i].name);
            struct stat st;
            if (es[i].isdir < 0)            /* (no d_type from this file system) */
                es[i].isdir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
            if (es[i].isdir) {
                if (strcmp(es[i].name, "__pycache__") && strcmp(es[i].name, "shim")) {
                    if (nstack == capstack && !(stack = realloc(stack, (capstack *= 2) * sizeof *stack)))
                        return 0;
                    stack[nstack++] = path;
                    path = NULL;
                }
            } else if (ends_with(es[i].name, ".py")) {
                if (stat(path, &st) != 0)
                    return 0;
                put(parts, "", 1);
                puts_(parts, path);
                put(parts, ":", 1);
                putll(parts, (long long)st.st_size);
                put(parts, ":", 1);
                putll(parts, mtime_ns(&st));
            }
            free(path);
            free(es[i].name);
        }
        free(es);
        free(d);
    }
    free(stack);
    return 1;
}

/* "path:mtime", or the path alone if it cannot be stat'ed */
static void put_dir(buf *parts, const char *p)
{
    struct stat st;
    put(parts, "", 1);
    puts_(parts, p);
    if (stat(p, &st) == 0) {
        put(parts, ":", 1);
        putll(parts, mtime_ns(&st));
    }
}

static int compute_key(char key[17])
{
    buf parts = {0};
    char exe[PATH_MAX];
    struct stat st;
    if (!realpath(LDPY_PYTHON, exe) || stat(exe, &st) != 0)
        return 0;
    puts_(&parts, exe);
    put(&parts, "", 1);
    putll(&parts, (long long)st.st_size);
    put(&parts, ":", 1);
    putll(&parts, mtime_ns(&st));
    put_dir(&parts, LDPY_STDLIB);
    for (int i = 0; search_path[i]; i++)
        put_dir(&parts, search_path[i]);
    if (!walk_sources(&parts))
        return 0;
    snprintf(key, 17, "%08x%08x", crc32_((unsigned char *)parts.p, parts.n),
             adler32_((unsigned char *)parts.p, parts.n));
    free(parts.p);
    return 1;
}

/* $XDG_RUNTIME_DIR/ldpy (else /tmp/ldpy-UID): created 0700, and only used when it is
 * a directory of ours that nobody else can write into. */
static int runtime_dir(char *out, size_t size)
{
    const char *base = getenv("XDG_RUNTIME_DIR");
    if (base && base[0] == '/')
        snprintf(out, size, "%s%sldpy", base, ends_with(base, "/") ? "" : "/");
    else
        snprintf(out, size, "/tmp/ldpy-%u", (unsigned)getuid());
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return 0;
    struct stat st;
    return lstat(out, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
           !(st.st_mode & 077);
}

/* ---- the request, in marshal's format -------------------------------------------- */
static void m_len(buf *b, uint32_t n)
{
    unsigned char t[4] = {n & 0xFF, n >> 8 & 0xFF, n >> 16 & 0xFF, n >> 24};
    put(b, t, 4);
}

static void m_bytes(buf *b, const char *s, size_t n) { put(b, "s", 1); m_len(b, (uint32_t)n); put(b, s, n); }
static void m_int(buf *b, int32_t v) { put(b, "i", 1); m_len(b, (uint32_t)v); }

/* a str from bytes decoded like os.fsdecode() with UTF-8: a byte that is not part of
 * a valid UTF-8 sequence becomes U+DC80..U+DCFF (surrogateescape), which marshal
 * carries encoded as UTF-8 (surrogatepass) */
static void m_fsstr(buf *b, const char *s)
{
    buf u = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = p[0];
        int len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 :
                  c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        int ok = len > 0;
        for (int i = 1; ok && i < len; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (ok && len == 3)      /* no overlong forms, no surrogates */
            ok = !(c == 0xE0 && p[1] < 0xA0) && !(c == 0xED && p[1] >= 0xA0);
        if (ok && len == 4)      /* no overlong forms, nothing past U+10FFFF */
            ok = !(c == 0xF0 && p[1] < 0x90) && !(c == 0xF4 && p[1] >= 0x90);
        if (ok) {
            put(&u, p, (size_t)len);
            p += len;
        } else {
            unsigned cp = 0xDC00 + c;
            unsigned char e[3] = {0xE0 | cp >> 12, 0x80 | (cp >> 6 & 0x3F), 0x80 | (cp & 0x3F)};
            put(&u, e, 3);
            p++;
        }
    }
    put(b, "u", 1);
    m_len(b, (uint32_t)u.n);
    if (u.n)
        put(b, u.p, u.n);
    free(u.p);
}

static void m_ascii(buf *b, const char *s) { m_fsstr(b, s); }

/* Python's view of the locale at start-up (PEP 538 coercion, PEP 540 UTF-8 mode)
 * as the shim runs it, with -I (so PYTHONIOENCODING, PYTHONUTF8 and
 * PYTHONCOERCECLOCALE count for nothing): sets the stdio errors handler and the
 * LC_CTYPE value Python would have put into its environment.  0 when the encoding
 * would not be UTF-8 (Python does the rest). */
static int python_locale(const char **errors, const char **coerced)
{
    const char *loc = setlocale(LC_CTYPE, "");
    if (!loc)                    /* (a locale that is not installed: Python stays in "C") */
        loc = setlocale(LC_CTYPE, NULL);
    int legacy = loc && (!strcmp(loc, "C") || !strcmp(loc, "POSIX"));
    *coerced = NULL;
    const char *lc_all = getenv("LC_ALL");
    if (legacy && (!lc_all || !*lc_all)) {
        static const char *const targets[] = {"C.UTF-8", "C.utf8", "UTF-8"};
        for (int i = 0; i < 3; i++)
            if (setlocale(LC_CTYPE, targets[i])) {
                *coerced = targets[i];
                loc = targets[i];
                break;
            }
    }
    int utf8_mode = legacy;
    int is_utf8 = utf8_mode || !strcmp(nl_langinfo(CODESET), "UTF-8");
    if (!is_utf8)
        return 0;
    loc = setlocale(LC_CTYPE, NULL);
    *errors = utf8_mode || (loc && (!strcmp(loc, "C") || !strcmp(loc, "POSIX") ||
                                    !strcmp(loc, "C.UTF-8") || !strcmp(loc, "C.utf8") ||
                                    !strcmp(loc, "UTF-8")))
              ? "surrogateescape" : "strict";
    return 1;
}

extern char **environ;

static void m_env(buf *b, const char *coerced)
{
    put(b, "{", 1);
    int have_ctype = 0;
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        size_t klen = (size_t)(eq - *e);
        int dup = 0;             /* (the first of two equal names wins, as in os.environ) */
        for (char **f = environ; f < e && !dup; f++)
            dup = !strncmp(*f, *e, klen + 1);
        if (dup)
            continue;
        m_bytes(b, *e, klen);
        if (coerced && klen == 8 && !memcmp(*e, "LC_CTYPE", 8)) {
            m_bytes(b, coerced, strlen(coerced));
            have_ctype = 1;
        } else
            m_bytes(b, eq + 1, strlen(eq + 1));
    }
    if (coerced && !have_ctype) {
        m_bytes(b, "LC_CTYPE", 8);
        m_bytes(b, coerced, strlen(coerced));
    }
    put(b, "0", 1);
}

static int sock = -1;
static volatile sig_atomic_t got;

static void die(int signum)
{
    sigset_t set;
    signal(signum, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, signum);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), signum);
    _exit(128 + signum);
}

static void forward(int signum)
{
    if (got)                     /* a second signal: give up waiting (the child sees EOF) */
        die(signum);
    got = signum;
    unsigned char c = (unsigned char)signum;
    int saved = errno;
    (void)!send(sock, &c, 1, MSG_NOSIGNAL);
    errno = saved;
}

int main(int argc, char **argv)
{
    args = argv;
    nargs = argc;
    const char *print_key = getenv("LDPY_CLIENT_PRINT_KEY");
    if (print_key && !strcmp(print_key, "1")) {       /* (for the tests) */
        char key[17];
        if (!compute_key(key))
            return 1;
        printf("%s\n", key);
        return 0;
    }
    const char *server = getenv("LDPY_SERVER");
    if (!server || strcmp(server, "1"))
        exec_python();
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--server-stop"))
            exec_python();

    char dir[PATH_MAX], key[17];
    const char *errors, *coerced;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (!runtime_dir(dir, sizeof dir) || !compute_key(key))
        exec_python();
    int len = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/srv-%s.sock", dir, key);
    if (len < 0 || len > 100 || !python_locale(&errors, &coerced))
        exec_python();
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0)
        exec_python();           /* (Python starts a server, then links in-process) */

    /* the request */
    struct stat st;
    char cwd[PATH_MAX];
    for (int fd = 0; fd < 3; fd++)
        if (fstat(fd, &st) != 0)
            exec_python();
    if (!getcwd(cwd, sizeof cwd))
        exec_python();
    mode_t um = umask(0);
    umask(um);
    buf body = {0};
    put(&body, "{", 1);
    m_ascii(&body, "op");
    m_ascii(&body, "link");
    m_ascii(&body, "argv");
    put(&body, "[", 1);
    m_len(&body, (uint32_t)(argc - 1));
    for (int i = 1; i < argc; i++)
        m_fsstr(&body, argv[i]);
    m_ascii(&body, "argv0");
    m_fsstr(&body, argc ? argv[0] : "ld");
    m_ascii(&body, "cwd");
    m_fsstr(&body, cwd);
    m_ascii(&body, "umask");
    m_int(&body, (int32_t)um);
    m_ascii(&body, "env");
    m_env(&body, coerced);
    m_ascii(&body, "enc");
    put(&body, "[", 1);
    m_len(&body, 2);
    const char *errs[2] = {errors, "backslashreplace"};
    for (int i = 0; i < 2; i++) {
        put(&body, "(", 1);
        m_len(&body, 2);
        m_ascii(&body, "utf-8");
        m_ascii(&body, errs[i]);
    }
    put(&body, "0", 1);

    buf msg = {0};
    put(&msg, "LDPY1", 5);
    m_len(&msg, (uint32_t)body.n);
    put(&msg, body.p, body.n);
    int fds[3] = {0, 1, 2};
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof fds)]; } anc;
    memset(&anc, 0, sizeof anc);
    struct iovec iov = {msg.p, msg.n};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = anc.space, .msg_controllen = sizeof anc.space};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    ssize_t sent;
    do
        sent = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent < 0)
        exec_python();
    for (size_t off = (size_t)sent; off < msg.n;) {
        ssize_t n = send(sock, msg.p + off, msg.n - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            exec_python();
        off += (size_t)n;
    }

    /* from here on the server may be running the link: forward signals to it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;     /* (no SA_RESTART: recv returns to look at `got`) */
    sigemptyset(&sa.sa_mask);
    static const int forwarded[3] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction old[3];
    for (int i = 0; i < 3; i++)
        sigaction(forwarded[i], &sa, &old[i]);
    unsigned char reply[4];
    size_t have = 0;
    while (have < 4) {
        ssize_t n = recv(sock, reply + have, 4 - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    uint32_t status = have == 4 ? (uint32_t)reply[0] | reply[1] << 8 | reply[2] << 16 |
                                  (uint32_t)reply[3] << 24 : FALLBACK;
    close(sock);
    if (got)
        die(got);
    if (status == FALLBACK) {    /* (Python starts with the dispositions we had: nohup) */
        for (int i = 0; i < 3; i++)
            sigaction(forwarded[i], &old[i], NULL);
        exec_python();
    }
    _exit((int)(status & 0xFF));
}
