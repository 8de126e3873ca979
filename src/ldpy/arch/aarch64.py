"""AArch64 (little-endian, LP64): relocation types and how each one computes
its value and stores it into an instruction's immediate field, the PLT entry
templates (with BTI and PAC variants), the TLS relaxations GNU ld performs
(TLS descriptors and general-dynamic to initial-exec or local-exec,
initial-exec and local-dynamic to local-exec), range-extension stubs for
B/BL placed as ld.bfd places them, and the Cortex-A53 erratum 843419 scan.

Everything works on whole arrays: a relocation's value is
``form(target) -> check -> encode``, and each step is one numpy operation
per class of relocation type, never one Python call per relocation.

The formulas use the names of the AArch64 ELF ABI:
    S+A               the symbol's address plus the addend ("S" target)
    G(...)            the address of a GOT entry (GOT, GD pair, LD pair,
                      IE slot, TLS descriptor)
    TPREL(S+A)        offset from the thread pointer (TCB of 16 bytes first)
    DTPREL(S+A)       offset in the module's TLS block
    Page(x)           x & ~0xfff
and the forms: the value itself, value - P, Page(value) - Page(P),
value - GOT, value - Page(GOT).
"""
import numpy as np

from ldpy.util import unique, isin
from ldpy.diag import LinkError
from ldpy.elf.format import EM_AARCH64
from ldpy.reloc_policy import branch_destinations

MACHINE = EM_AARCH64
NAME = "aarch64"
IS64, LITTLE = True, True
EMULATION = "aarch64linux"
EMULATIONS = ("aarch64linux", "aarch64elf", "aarch64linuxb", "aarch64elfb", "aarch64linux32",
              "aarch64linux32b", "aarch64elf32", "aarch64elf32b")
MAX_PAGE_SIZE = 0x10000         # ld.bfd's aarch64 max-page-size (segments align to it)
COMMON_PAGE_SIZE = 0x1000
PAGE_SIZE = MAX_PAGE_SIZE
EXEC_BASE = 0x400000
DYNAMIC_LINKER = "/lib/ld-linux-aarch64.so.1"
TCB_SIZE = 16                   # variant I TLS: the TCB (two words) precedes the TLS block
GOT_ENTRY_SIZE = 8
GOTPLT_RESERVED = 3             # .got.plt[0] = _DYNAMIC, [1] and [2] for the loader
NOP = 0xd503201f
DT_AARCH64_BTI_PLT, DT_AARCH64_PAC_PLT, DT_AARCH64_VARIANT_PCS = 0x70000001, 0x70000003, 0x70000005
STO_AARCH64_VARIANT_PCS = 0x80
BTI_C = 0xd503245f

# --------------------------------------------------------------------------
# relocation types

_TYPES = """
NONE 0
ABS64 257 ABS32 258 ABS16 259 PREL64 260 PREL32 261 PREL16 262
MOVW_UABS_G0 263 MOVW_UABS_G0_NC 264 MOVW_UABS_G1 265 MOVW_UABS_G1_NC 266
MOVW_UABS_G2 267 MOVW_UABS_G2_NC 268 MOVW_UABS_G3 269
MOVW_SABS_G0 270 MOVW_SABS_G1 271 MOVW_SABS_G2 272
LD_PREL_LO19 273 ADR_PREL_LO21 274 ADR_PREL_PG_HI21 275 ADR_PREL_PG_HI21_NC 276
ADD_ABS_LO12_NC 277 LDST8_ABS_LO12_NC 278 TSTBR14 279 CONDBR19 280 JUMP26 282 CALL26 283
LDST16_ABS_LO12_NC 284 LDST32_ABS_LO12_NC 285 LDST64_ABS_LO12_NC 286
MOVW_PREL_G0 287 MOVW_PREL_G0_NC 288 MOVW_PREL_G1 289 MOVW_PREL_G1_NC 290
MOVW_PREL_G2 291 MOVW_PREL_G2_NC 292 MOVW_PREL_G3 293 LDST128_ABS_LO12_NC 299
MOVW_GOTOFF_G0 300 MOVW_GOTOFF_G0_NC 301 MOVW_GOTOFF_G1 302 MOVW_GOTOFF_G1_NC 303
MOVW_GOTOFF_G2 304 MOVW_GOTOFF_G2_NC 305 MOVW_GOTOFF_G3 306 GOTREL64 307 GOTREL32 308
GOT_LD_PREL19 309 LD64_GOTOFF_LO15 310 ADR_GOT_PAGE 311 LD64_GOT_LO12_NC 312
LD64_GOTPAGE_LO15 313
TLSGD_ADR_PREL21 512 TLSGD_ADR_PAGE21 513 TLSGD_ADD_LO12_NC 514 TLSGD_MOVW_G1 515
TLSGD_MOVW_G0_NC 516
TLSLD_ADR_PREL21 517 TLSLD_ADR_PAGE21 518 TLSLD_ADD_LO12_NC 519 TLSLD_MOVW_G1 520
TLSLD_MOVW_G0_NC 521 TLSLD_LD_PREL19 522 TLSLD_MOVW_DTPREL_G2 523 TLSLD_MOVW_DTPREL_G1 524
TLSLD_MOVW_DTPREL_G1_NC 525 TLSLD_MOVW_DTPREL_G0 526 TLSLD_MOVW_DTPREL_G0_NC 527
TLSLD_ADD_DTPREL_HI12 528 TLSLD_ADD_DTPREL_LO12 529 TLSLD_ADD_DTPREL_LO12_NC 530
TLSLD_LDST8_DTPREL_LO12 531 TLSLD_LDST8_DTPREL_LO12_NC 532
TLSLD_LDST16_DTPREL_LO12 533 TLSLD_LDST16_DTPREL_LO12_NC 534
TLSLD_LDST32_DTPREL_LO12 535 TLSLD_LDST32_DTPREL_LO12_NC 536
TLSLD_LDST64_DTPREL_LO12 537 TLSLD_LDST64_DTPREL_LO12_NC 538
TLSIE_MOVW_GOTTPREL_G1 539 TLSIE_MOVW_GOTTPREL_G0_NC 540 TLSIE_ADR_GOTTPREL_PAGE21 541
TLSIE_LD64_GOTTPREL_LO12_NC 542 TLSIE_LD_GOTTPREL_PREL19 543
TLSLE_MOVW_TPREL_G2 544 TLSLE_MOVW_TPREL_G1 545 TLSLE_MOVW_TPREL_G1_NC 546
TLSLE_MOVW_TPREL_G0 547 TLSLE_MOVW_TPREL_G0_NC 548 TLSLE_ADD_TPREL_HI12 549
TLSLE_ADD_TPREL_LO12 550 TLSLE_ADD_TPREL_LO12_NC 551
TLSLE_LDST8_TPREL_LO12 552 TLSLE_LDST8_TPREL_LO12_NC 553
TLSLE_LDST16_TPREL_LO12 554 TLSLE_LDST16_TPREL_LO12_NC 555
TLSLE_LDST32_TPREL_LO12 556 TLSLE_LDST32_TPREL_LO12_NC 557
TLSLE_LDST64_TPREL_LO12 558 TLSLE_LDST64_TPREL_LO12_NC 559
TLSDESC_LD_PREL19 560 TLSDESC_ADR_PREL21 561 TLSDESC_ADR_PAGE21 562 TLSDESC_LD64_LO12 563
TLSDESC_ADD_LO12 564 TLSDESC_OFF_G1 565 TLSDESC_OFF_G0_NC 566 TLSDESC_LDR 567
TLSDESC_ADD 568 TLSDESC_CALL 569
TLSLE_LDST128_TPREL_LO12 570 TLSLE_LDST128_TPREL_LO12_NC 571
TLSLD_LDST128_DTPREL_LO12 572 TLSLD_LDST128_DTPREL_LO12_NC 573
COPY 1024 GLOB_DAT 1025 JUMP_SLOT 1026 RELATIVE 1027 TLS_DTPMOD64 1028 TLS_DTPREL64 1029
TLS_TPREL64 1030 TLSDESC 1031 IRELATIVE 1032
"""
_words = _TYPES.split()
R = {_words[i]: int(_words[i + 1]) for i in range(0, len(_words), 2)}
globals().update({k: v for k, v in R.items()})          # ABS64, CALL26, ... as module names
TYPE_NAMES = {v: "R_AARCH64_" + k for k, v in R.items()}
TYPE_NAMES[256] = "R_AARCH64_NONE"                     # the withdrawn second NONE
NTYPES = 1040


def type_name(t):
    return TYPE_NAMES.get(int(t), f"unknown relocation type {int(t)}")


# What a relocation's value is computed from (TGT), the form of the value
# (FORM), how it is stored (ENC) and the range the value must lie in (CHECK).
T_NONE, T_S, T_GOT, T_GD, T_LD, T_IE, T_DESC, T_TP, T_DTP = range(9)
F_ABS, F_PC, F_PAGE, F_GOTREL, F_GOTPAGE = range(5)
(E_NONE, E_D64, E_D32, E_D16, E_ADR, E_ADRP, E_ADD, E_LDST0, E_LDST1, E_LDST2, E_LDST3,
 E_LDST4, E_HI12, E_B26, E_B19, E_B14, E_MOVW0, E_MOVW1, E_MOVW2, E_MOVW3, E_SMOVW0,
 E_SMOVW1, E_SMOVW2, E_LO15) = range(24)

S16, S17, S21, S28, S32, S33, S49 = ((-(1 << b), (1 << b) - 1) for b in (15, 16, 20, 27, 31, 32, 48))
# ranges as (lo, hi) inclusive; the names say the field (S21: a signed 21-bit value)
U12, U15, U16, U24, U32, U48 = ((0, (1 << b) - 1) for b in (12, 15, 16, 24, 32, 48))
B26R = (-(1 << 27), (1 << 27) - 1)      # B/BL: +-128 MiB
B19R = (-(1 << 20), (1 << 20) - 1)      # B.cond, CBZ, LDR literal, ADR: +-1 MiB
B14R = (-(1 << 15), (1 << 15) - 1)      # TBZ: +-32 KiB
PG = (-(1 << 32), (1 << 32) - 1)        # ADRP: +-4 GiB

_SPEC = {
    # name: (target, form, encoding, range or None)
    # (ld.bfd checks ABS32/ABS16 as unsigned, PREL32/PREL16 as signed values)
    "ABS64": (T_S, F_ABS, E_D64, None), "ABS32": (T_S, F_ABS, E_D32, U32),
    "ABS16": (T_S, F_ABS, E_D16, U16), "PREL64": (T_S, F_PC, E_D64, None),
    "PREL32": (T_S, F_PC, E_D32, S32), "PREL16": (T_S, F_PC, E_D16, S16),
    "MOVW_UABS_G0": (T_S, F_ABS, E_MOVW0, U16), "MOVW_UABS_G0_NC": (T_S, F_ABS, E_MOVW0, None),
    "MOVW_UABS_G1": (T_S, F_ABS, E_MOVW1, U32), "MOVW_UABS_G1_NC": (T_S, F_ABS, E_MOVW1, None),
    "MOVW_UABS_G2": (T_S, F_ABS, E_MOVW2, U48), "MOVW_UABS_G2_NC": (T_S, F_ABS, E_MOVW2, None),
    "MOVW_UABS_G3": (T_S, F_ABS, E_MOVW3, None),
    "MOVW_SABS_G0": (T_S, F_ABS, E_SMOVW0, S17), "MOVW_SABS_G1": (T_S, F_ABS, E_SMOVW1, S33),
    "MOVW_SABS_G2": (T_S, F_ABS, E_SMOVW2, S49),
    "LD_PREL_LO19": (T_S, F_PC, E_B19, B19R), "ADR_PREL_LO21": (T_S, F_PC, E_ADR, B19R),
    "ADR_PREL_PG_HI21": (T_S, F_PAGE, E_ADRP, PG), "ADR_PREL_PG_HI21_NC": (T_S, F_PAGE, E_ADRP, None),
    "ADD_ABS_LO12_NC": (T_S, F_ABS, E_ADD, None), "LDST8_ABS_LO12_NC": (T_S, F_ABS, E_LDST0, None),
    "LDST16_ABS_LO12_NC": (T_S, F_ABS, E_LDST1, None), "LDST32_ABS_LO12_NC": (T_S, F_ABS, E_LDST2, None),
    "LDST64_ABS_LO12_NC": (T_S, F_ABS, E_LDST3, None), "LDST128_ABS_LO12_NC": (T_S, F_ABS, E_LDST4, None),
    "TSTBR14": (T_S, F_PC, E_B14, B14R), "CONDBR19": (T_S, F_PC, E_B19, B19R),
    "JUMP26": (T_S, F_PC, E_B26, B26R), "CALL26": (T_S, F_PC, E_B26, B26R),
    "MOVW_PREL_G0": (T_S, F_PC, E_SMOVW0, S17), "MOVW_PREL_G0_NC": (T_S, F_PC, E_MOVW0, None),
    "MOVW_PREL_G1": (T_S, F_PC, E_SMOVW1, S33), "MOVW_PREL_G1_NC": (T_S, F_PC, E_MOVW1, None),
    "MOVW_PREL_G2": (T_S, F_PC, E_SMOVW2, S49), "MOVW_PREL_G2_NC": (T_S, F_PC, E_MOVW2, None),
    "MOVW_PREL_G3": (T_S, F_PC, E_MOVW3, None),
    "MOVW_GOTOFF_G0": (T_GOT, F_GOTREL, E_SMOVW0, S17), "MOVW_GOTOFF_G0_NC": (T_GOT, F_GOTREL, E_MOVW0, None),
    "MOVW_GOTOFF_G1": (T_GOT, F_GOTREL, E_SMOVW1, S33), "MOVW_GOTOFF_G1_NC": (T_GOT, F_GOTREL, E_MOVW1, None),
    "MOVW_GOTOFF_G2": (T_GOT, F_GOTREL, E_SMOVW2, S49), "MOVW_GOTOFF_G2_NC": (T_GOT, F_GOTREL, E_MOVW2, None),
    "MOVW_GOTOFF_G3": (T_GOT, F_GOTREL, E_MOVW3, None),
    "GOTREL64": (T_S, F_GOTREL, E_D64, None), "GOTREL32": (T_S, F_GOTREL, E_D32, S32),
    "GOT_LD_PREL19": (T_GOT, F_PC, E_B19, B19R), "LD64_GOTOFF_LO15": (T_GOT, F_GOTREL, E_LO15, U15),
    "ADR_GOT_PAGE": (T_GOT, F_PAGE, E_ADRP, PG), "LD64_GOT_LO12_NC": (T_GOT, F_ABS, E_LDST3, None),
    "LD64_GOTPAGE_LO15": (T_GOT, F_GOTPAGE, E_LO15, U15),
    "TLSGD_ADR_PREL21": (T_GD, F_PC, E_ADR, B19R), "TLSGD_ADR_PAGE21": (T_GD, F_PAGE, E_ADRP, PG),
    "TLSGD_ADD_LO12_NC": (T_GD, F_ABS, E_ADD, None), "TLSGD_MOVW_G1": (T_GD, F_GOTREL, E_SMOVW1, S33),
    "TLSGD_MOVW_G0_NC": (T_GD, F_GOTREL, E_MOVW0, None),
    "TLSLD_ADR_PREL21": (T_LD, F_PC, E_ADR, B19R), "TLSLD_ADR_PAGE21": (T_LD, F_PAGE, E_ADRP, PG),
    "TLSLD_ADD_LO12_NC": (T_LD, F_ABS, E_ADD, None), "TLSLD_MOVW_G1": (T_LD, F_GOTREL, E_SMOVW1, S33),
    "TLSLD_MOVW_G0_NC": (T_LD, F_GOTREL, E_MOVW0, None), "TLSLD_LD_PREL19": (T_LD, F_PC, E_B19, B19R),
    "TLSLD_MOVW_DTPREL_G2": (T_DTP, F_ABS, E_SMOVW2, S49),
    "TLSLD_MOVW_DTPREL_G1": (T_DTP, F_ABS, E_SMOVW1, S33),
    "TLSLD_MOVW_DTPREL_G1_NC": (T_DTP, F_ABS, E_MOVW1, None),
    "TLSLD_MOVW_DTPREL_G0": (T_DTP, F_ABS, E_SMOVW0, S17),
    "TLSLD_MOVW_DTPREL_G0_NC": (T_DTP, F_ABS, E_MOVW0, None),
    "TLSLD_ADD_DTPREL_HI12": (T_DTP, F_ABS, E_HI12, U24),
    "TLSLD_ADD_DTPREL_LO12": (T_DTP, F_ABS, E_ADD, U12),
    "TLSLD_ADD_DTPREL_LO12_NC": (T_DTP, F_ABS, E_ADD, None),
    "TLSIE_MOVW_GOTTPREL_G1": (T_IE, F_GOTREL, E_SMOVW1, S33),
    "TLSIE_MOVW_GOTTPREL_G0_NC": (T_IE, F_GOTREL, E_MOVW0, None),
    "TLSIE_ADR_GOTTPREL_PAGE21": (T_IE, F_PAGE, E_ADRP, PG),
    "TLSIE_LD64_GOTTPREL_LO12_NC": (T_IE, F_ABS, E_LDST3, None),
    "TLSIE_LD_GOTTPREL_PREL19": (T_IE, F_PC, E_B19, B19R),
    "TLSLE_MOVW_TPREL_G2": (T_TP, F_ABS, E_SMOVW2, S49),
    "TLSLE_MOVW_TPREL_G1": (T_TP, F_ABS, E_SMOVW1, S33),
    "TLSLE_MOVW_TPREL_G1_NC": (T_TP, F_ABS, E_MOVW1, None),
    "TLSLE_MOVW_TPREL_G0": (T_TP, F_ABS, E_SMOVW0, S17),
    "TLSLE_MOVW_TPREL_G0_NC": (T_TP, F_ABS, E_MOVW0, None),
    "TLSLE_ADD_TPREL_HI12": (T_TP, F_ABS, E_HI12, U24),
    "TLSLE_ADD_TPREL_LO12": (T_TP, F_ABS, E_ADD, U12),
    "TLSLE_ADD_TPREL_LO12_NC": (T_TP, F_ABS, E_ADD, None),
    "TLSDESC_LD_PREL19": (T_DESC, F_PC, E_B19, B19R), "TLSDESC_ADR_PREL21": (T_DESC, F_PC, E_ADR, B19R),
    "TLSDESC_ADR_PAGE21": (T_DESC, F_PAGE, E_ADRP, PG), "TLSDESC_LD64_LO12": (T_DESC, F_ABS, E_LDST3, None),
    "TLSDESC_ADD_LO12": (T_DESC, F_ABS, E_ADD, None),
    "TLSDESC_OFF_G1": (T_DESC, F_GOTREL, E_SMOVW1, S33),
    "TLSDESC_OFF_G0_NC": (T_DESC, F_GOTREL, E_MOVW0, None),
    # markers of a descriptor sequence: nothing stored (relaxations rewrite them)
    "TLSDESC_LDR": (T_DESC, F_ABS, E_NONE, None), "TLSDESC_ADD": (T_DESC, F_ABS, E_NONE, None),
    "TLSDESC_CALL": (T_DESC, F_ABS, E_NONE, None),
    "NONE": (T_NONE, F_ABS, E_NONE, None),
}
for _n, _s in ((8, 0), (16, 1), (32, 2), (64, 3), (128, 4)):
    _e = E_LDST0 + _s
    _SPEC[f"TLSLD_LDST{_n}_DTPREL_LO12"] = (T_DTP, F_ABS, _e, U12)
    _SPEC[f"TLSLD_LDST{_n}_DTPREL_LO12_NC"] = (T_DTP, F_ABS, _e, None)
    _SPEC[f"TLSLE_LDST{_n}_TPREL_LO12"] = (T_TP, F_ABS, _e, U12)
    _SPEC[f"TLSLE_LDST{_n}_TPREL_LO12_NC"] = (T_TP, F_ABS, _e, None)


def _table(values, default=0, dtype=np.int64):
    t = np.full(NTYPES, default, dtype)
    for k, v in values.items():
        t[k] = v
    return t


TGT = _table({R[n]: s[0] for n, s in _SPEC.items()})
FORM = _table({R[n]: s[1] for n, s in _SPEC.items()})
ENC = _table({R[n]: s[2] for n, s in _SPEC.items()})
SUPPORTED = _table({R[n]: 1 for n in _SPEC}, 0, bool)
SUPPORTED[256] = True
HAS_CHECK = _table({R[n]: 1 for n, s in _SPEC.items() if s[3]}, 0, bool)
LO = _table({R[n]: s[3][0] for n, s in _SPEC.items() if s[3]}, -(1 << 63))
HI = _table({R[n]: s[3][1] for n, s in _SPEC.items() if s[3]}, (1 << 63) - 1)
WIDTH = _table({R[n]: {E_D64: 8, E_D32: 4, E_D16: 2}.get(s[2], 4 if s[2] != E_NONE else 0)
                for n, s in _SPEC.items()})
# loads and stores scale their offset: the low bits must be 0 (ld.bfd reports
# a misaligned one as an overflow)
ALIGN = np.where((ENC >= E_LDST0) & (ENC <= E_LDST4), 1 << np.clip(ENC - E_LDST0, 0, 4), 1)
ALIGN[ENC == E_LO15] = 8
HAS_CHECK |= ALIGN > 1
IS_TLS = isin(TGT, (T_GD, T_LD, T_IE, T_DESC, T_TP, T_DTP))
IS_GOT = TGT == T_GOT
NEEDS_GOT_BASE = (FORM == F_GOTREL) | (FORM == F_GOTPAGE)
IS_PLT_CALL = _table({CALL26: 1, JUMP26: 1}, 0, bool)
IS_BRANCH = IS_PLT_CALL
# references that read a symbol's own address from code (a copy or a canonical
# PLT entry in a non-PIE executable when the symbol is imported)
IS_DIRECT_DATA = (TGT == T_S) & (ENC != E_D64) & ~IS_PLT_CALL & (FORM != F_GOTREL) & \
    (np.arange(NTYPES) != R["NONE"])
DYNAMIC_RELOCS = dict(R64=ABS64, RELATIVE=RELATIVE, GLOB_DAT=GLOB_DAT, JUMP_SLOT=JUMP_SLOT,
                      COPY=COPY, TPOFF64=TLS_TPREL64, DTPMOD64=TLS_DTPMOD64,
                      DTPOFF64=TLS_DTPREL64, IRELATIVE=IRELATIVE, TLSDESC=TLSDESC)

def field_text(t, val=0):
    """How an overflow message names a relocation's field ("a signed 28-bit")."""
    t = int(t)
    lo, hi = int(LO[t]), int(HI[t])
    if int(val) & (int(ALIGN[t]) - 1):
        return f"{'an' if int(ALIGN[t]) == 8 else 'a'} {int(ALIGN[t])}-byte aligned"
    if not (lo < 0 or hi < (1 << 62)):
        return "a 64-bit"
    if lo < 0 and hi > -lo:
        return f"a {(hi + 1).bit_length() - 1}-bit"
    if lo < 0:
        return f"a signed {(-lo).bit_length()}-bit"
    return f"an unsigned {(hi + 1).bit_length() - 1}-bit"


# --------------------------------------------------------------------------
# values and instruction fields


def page(x):
    return np.asarray(x, np.int64) & ~np.int64(0xfff)


def tp_base(tls_start, tls_align):
    """The thread pointer's value relative to the TLS segment: TPREL(x) = x - tp_base.
    The TCB (16 bytes) sits at tp, the block at tp + 16 rounded up to its alignment."""
    align = max(int(tls_align), 1)
    return int(tls_start) - ((TCB_SIZE + align - 1) // align * align)


def form_value(typ, X, P, got_base):
    """The value each relocation stores, from its target X (an address or an
    offset), its place P and the GOT's address (per FORM)."""
    form = FORM[typ]
    X = np.asarray(X, np.int64)
    P = np.asarray(P, np.int64)
    v = X.copy()
    m = form == F_PC
    v[m] = X[m] - P[m]
    m = form == F_PAGE
    v[m] = page(X[m]) - page(P[m])
    m = form == F_GOTREL
    v[m] = X[m] - got_base
    m = form == F_GOTPAGE
    v[m] = X[m] - page(got_base)
    return v


def overflows(typ, val):
    """Which values lie outside the range of their relocation's field."""
    return HAS_CHECK[typ] & ((val < LO[typ]) | (val > HI[typ]) | ((val & (ALIGN[typ] - 1)) != 0))


def read32(out, pos):
    """The little-endian instruction words at byte positions pos of out."""
    b = out[np.asarray(pos, np.int64)[:, None] + np.arange(4)].astype(np.uint32)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)


def write32(out, pos, words):
    out[np.asarray(pos, np.int64)[:, None] + np.arange(4)] = \
        np.asarray(words, np.uint32).astype("<u4").view(np.uint8).reshape(-1, 4)


def _u32(x):
    return (np.asarray(x, np.int64) & 0xffffffff).astype(np.uint32)


def _imm21(insn, v):
    """ADR/ADRP: immlo in bits 29-30, immhi in bits 5-23."""
    v = np.asarray(v, np.int64)
    return (insn & np.uint32(0x9f00001f)) | _u32((v & 3) << 29) | _u32(((v >> 2) & 0x7ffff) << 5)


def _imm12(insn, f):
    return (insn & np.uint32(0xffc003ff)) | _u32((np.asarray(f, np.int64) & 0xfff) << 10)


def _imm16(insn, f):
    return (insn & np.uint32(0xffe0001f)) | _u32((np.asarray(f, np.int64) & 0xffff) << 5)


def encode(insn, enc, v):
    """The instruction words insn with value v stored per encoding enc (one
    E_* code for the whole array).  Data encodings are not instructions."""
    v = np.asarray(v, np.int64)
    if enc == E_ADR:
        return _imm21(insn, v)
    if enc == E_ADRP:
        return _imm21(insn, v >> 12)
    if enc == E_ADD:
        return _imm12(insn, v)
    if E_LDST0 <= enc <= E_LDST4:
        return _imm12(insn, (v & 0xfff) >> (enc - E_LDST0))
    if enc == E_HI12:
        return _imm12(insn, v >> 12)
    if enc == E_LO15:
        return _imm12(insn, (v & 0x7fff) >> 3)
    if enc == E_B26:
        return (insn & np.uint32(0xfc000000)) | _u32((v >> 2) & 0x3ffffff)
    if enc == E_B19:
        return (insn & np.uint32(0xff00001f)) | _u32(((v >> 2) & 0x7ffff) << 5)
    if enc == E_B14:
        return (insn & np.uint32(0xfff8001f)) | _u32(((v >> 2) & 0x3fff) << 5)
    if E_MOVW0 <= enc <= E_MOVW3:
        return _imm16(insn, v >> (16 * (enc - E_MOVW0)))
    if E_SMOVW0 <= enc <= E_SMOVW2:
        # a signed group: MOVZ for values >= 0, MOVN with the inverted bits below 0
        neg = v < 0
        f = np.where(neg, ~v, v) >> (16 * (enc - E_SMOVW0))
        opc = np.where(neg, 0, 0x40000000).astype(np.uint32)        # bits 29-30: 00 MOVN, 10 MOVZ
        return _imm16((insn & np.uint32(0x9fffffff)) | opc, f)
    raise ValueError(f"not an instruction encoding: {enc}")


def store(out, pos, typ, val):
    """Store every value into the image: data words by width, instruction
    fields by encoding (grouped, one numpy pass per encoding)."""
    pos = np.asarray(pos, np.int64)
    enc = ENC[typ]
    for e, w in ((E_D64, 8), (E_D32, 4), (E_D16, 2)):
        m = enc == e
        if m.any():
            out[pos[m][:, None] + np.arange(w)] = \
                val[m].astype("<i8").view(np.uint8).reshape(-1, 8)[:, :w]
    insn = (enc != E_NONE) & (enc != E_D64) & (enc != E_D32) & (enc != E_D16)
    if not insn.any():
        return
    idx = np.flatnonzero(insn)
    words = read32(out, pos[idx])
    e = enc[idx]
    for code in unique(e):
        m = e == code
        words[m] = encode(words[m], int(code), val[idx[m]])
    write32(out, pos[idx], words)


# --------------------------------------------------------------------------
# PLT templates (ld.bfd's "small" PLT: .got.plt within +-4 GiB)
#
# PLT0:  [bti c]
#        stp  x16, x30, [sp, #-16]!
#        adrp x16, Page(GOTPLT+16)
#        ldr  x17, [x16, #lo12(GOTPLT+16)]     ; the loader's resolver
#        add  x16, x16, #lo12(GOTPLT+16)
#        br   x17
#        nop (x3, or x2 after bti c)
# PLTn:  [bti c]                                 ; BTI, executables only
#        adrp x16, Page(slot)
#        ldr  x17, [x16, #lo12(slot)]
#        add  x16, x16, #lo12(slot)              ; x16 = &slot for the resolver
#        [autia1716]                             ; -z pac-plt
#        br   x17
#        [nop]                                   ; pads to 24 bytes if any of the above

PLT0_SIZE = 32
_STP = 0xa9bf7bf0
_ADRP_X16 = 0x90000010
_LDR_X17 = 0xf9400211
_ADD_X16 = 0x91000210
_BR_X17 = 0xd61f0220
_AUTIA1716 = 0xd503219f


def plt_entry_size(bti=False, pac=False, pde=True):
    """Bytes per PLT entry: 16, or 24 when it carries bti c (only in executables
    that are not PIE, as ld.bfd) or autia1716."""
    return 24 if (bti and pde) or pac else 16


def plt_header(plt_addr, gotplt_addr, bti=False):
    """PLT0: pushes x16/x30 and jumps to the resolver in .got.plt[2]."""
    words = ([BTI_C] if bti else []) + [_STP, _ADRP_X16, _LDR_X17 & ~0x3ffc00, _ADD_X16, _BR_X17]
    words += [NOP] * (8 - len(words))
    w = np.array(words, np.uint32)
    at = 2 if bti else 1                    # the adrp
    target = gotplt_addr + 16
    adrp_pc = plt_addr + 4 * at
    w[at] = _imm21(w[at:at + 1], (page(target) - page(adrp_pc)) >> 12)[0]
    w[at + 1] = _imm12(w[at + 1:at + 2], (target & 0xfff) >> 3)[0]
    w[at + 2] = _imm12(w[at + 2:at + 3], target & 0xfff)[0]
    return w.astype("<u4").view(np.uint8)


def plt_entries(entry_addrs, slots, bti=False, pac=False, pde=True):
    """PLT entries at entry_addrs jumping through .got.plt slots (vectorized)."""
    entry_addrs = np.asarray(entry_addrs, np.int64)
    slots = np.asarray(slots, np.int64)
    bti = bti and pde
    words = ([BTI_C] if bti else []) + [_ADRP_X16, _LDR_X17 & ~0x3ffc00, _ADD_X16] + \
        ([_AUTIA1716] if pac else []) + [_BR_X17]
    size = plt_entry_size(bti, pac, pde)
    words += [NOP] * (size // 4 - len(words))
    n = len(entry_addrs)
    code = np.tile(np.array(words, np.uint32), (n, 1))
    if n:
        at = 1 if bti else 0
        code[:, at] = _imm21(code[:, at], (page(slots) - page(entry_addrs + 4 * at)) >> 12)
        code[:, at + 1] = _imm12(code[:, at + 1], (slots & 0xfff) >> 3)
        code[:, at + 2] = _imm12(code[:, at + 2], slots & 0xfff)
    return code.astype("<u4").view(np.uint8).reshape(-1)


# The lazy TLS descriptor trampoline (DT_TLSDESC_PLT), 32 bytes:
#   [bti c]
#   stp  x2, x3, [sp, #-16]!
#   adrp x2, Page(DT_TLSDESC_GOT)      ; the .got slot holding the loader's resolver
#   adrp x3, Page(.got.plt)
#   ldr  x2, [x2, #lo12(DT_TLSDESC_GOT)]
#   add  x3, x3, #lo12(.got.plt)
#   br   x2
#   nop [nop]
TLSDESC_PLT_SIZE = 32


def tlsdesc_plt_entry(entry_addr, gotplt_addr, tlsdesc_got_addr, bti=False):
    words = ([BTI_C] if bti else []) + [0xa9bf0fe2, 0x90000002, 0x90000003, 0xf9400042,
                                        0x91000063, 0xd61f0040]
    words += [NOP] * (8 - len(words))
    w = np.array(words, np.uint32)
    a = 2 if bti else 1
    w[a] = _imm21(w[a:a + 1], (page(tlsdesc_got_addr) - page(entry_addr + 4 * a)) >> 12)[0]
    w[a + 1] = _imm21(w[a + 1:a + 2], (page(gotplt_addr) - page(entry_addr + 4 * (a + 1))) >> 12)[0]
    w[a + 2] = _imm12(w[a + 2:a + 3], (tlsdesc_got_addr & 0xfff) >> 3)[0]
    w[a + 3] = _imm12(w[a + 3:a + 4], gotplt_addr & 0xfff)[0]
    return w.astype("<u4").view(np.uint8)


_NOP_BYTES = np.array([NOP], "<u4").view(np.uint8)


def code_fill(n):
    """Padding between input sections of code: NOPs (the =0x1f2003d5 fill of
    ld.bfd's default script for .init, .text and .fini)."""
    return np.resize(_NOP_BYTES, n)


# --------------------------------------------------------------------------
# TLS relaxations (executables), as GNU ld 2.40 rewrites the sequences.
#
# TLS descriptors (small model; x0 holds the result, x1 the resolver):
#   adrp x0, :tlsdesc:v            LE: movz x0, #:tprel_g1:v     IE: adrp x0, :gottprel:v
#   ldr  x1, [x0, :tlsdesc_lo12:v]     movk x0, #:tprel_g0_nc:v      ldr  x0, [x0, :gottprel_lo12:v]
#   add  x0, x0, :tlsdesc_lo12:v       nop                           nop
#   blr  x1                            nop                           nop
# tiny model: ldr x1, :tlsdesc:v / adr x0, :tlsdesc:v / blr x1
#                                  LE: movz x0, #:tprel_g1:v     IE: ldr x0, :gottprel:v
#                                      movk x0, #:tprel_g0_nc:v      nop
#                                      nop                           nop
# General dynamic (traditional):
#   adrp x0, :tlsgd:v              LE: movz x0, #:tprel_g1:v     IE: adrp x0, :gottprel:v
#   add  x0, x0, :tlsgd_lo12:v         movk x0, #:tprel_g0_nc:v      ldr  x0, [x0, :gottprel_lo12:v]
#   bl   __tls_get_addr                mrs  x1, tpidr_el0            mrs  x1, tpidr_el0
#   nop                                add  x0, x1, x0               add  x0, x1, x0
# Initial exec to local exec (any register n):
#   adrp xn, :gottprel:v           movz xn, #:tprel_g1:v
#   ldr  xn, [xn, :gottprel_lo12:v]    movk xn, #:tprel_g0_nc:v
#   (the tiny form, ldr xn, :gottprel:v, keeps its GOT slot: ld.bfd 2.40 does not relax it)
# Tiny general dynamic:  adr x0, :tlsgd:v; bl __tls_get_addr; nop
#                      LE: mrs x1, tpidr_el0; add x0, x1, #:tprel_hi12:v, lsl #12; add x0, x0, #:tprel_lo12:v
#                      IE: ldr x0, :gottprel:v; mrs x1, tpidr_el0; add x0, x1, x0
# Tiny local dynamic:    adr x0, :tlsldm:v; bl __tls_get_addr; nop
#                      LE: mrs x0, tpidr_el0; add x0, x0, #TCB; nop
# Local dynamic (traditional) to local exec:
#   adrp x0, :tlsldm:v             mrs  x0, tpidr_el0
#   add  x0, x0, :tlsldm_lo12_nc:v     add  x0, x0, #TCB (the block's offset from tp)
#   bl   __tls_get_addr                nop
#   nop                                nop

MOVZ_X0_G1 = 0xd2a00000
MOVK_X0 = 0xf2800000
LDR_X0_X0 = 0xf9400000
ADRP_X0 = 0x90000000
MRS_X1_TP = 0xd53bd041
MRS_X0_TP = 0xd53bd040
ADD_X0_X1_X0 = 0x8b000020
ADD_X0_X0_IMM = 0x91000000
LDR_X0_LIT = 0x58000000

# relaxation actions per relocation: what the instruction becomes, which
# target its value then takes, and how that value is encoded
(A_KEEP, A_MOVZ_G1, A_MOVK_G0, A_NOP, A_ADRP_IE, A_LDR_IE, A_LDR_LIT_IE, A_MRS_X1,
 A_ADD_X0_X1, A_MRS_X0, A_ADD_TCB, A_MOVZ_G1_RT, A_MOVK_G0_RT) = range(13)


def tls_relax_actions(typ, to_le, to_ie):
    """For each TLS relocation of an executable, the rewrite GNU ld applies:
    to_le/to_ie say which sequences relax to local-exec / initial-exec (the
    variable is defined in the executable / imported).  The call after a GD
    or LD sequence (the next relocation, CALL26 to __tls_get_addr) and the nop
    after it get tls_call_words."""
    act = np.full(len(typ), A_KEEP, np.int8)
    le, ie = np.asarray(to_le, bool), np.asarray(to_ie, bool)

    def put(types, le_act, ie_act):
        m = isin(typ, types)
        if le_act is not None:
            act[m & le] = le_act
        if ie_act is not None:
            act[m & ie] = ie_act
    put((TLSDESC_ADR_PAGE21, TLSGD_ADR_PAGE21), A_MOVZ_G1, A_ADRP_IE)
    put((TLSDESC_LD64_LO12, TLSGD_ADD_LO12_NC), A_MOVK_G0, A_LDR_IE)
    put((TLSDESC_ADD_LO12, TLSDESC_CALL), A_NOP, A_NOP)
    put((TLSDESC_LD_PREL19,), A_MOVZ_G1, A_LDR_LIT_IE)
    put((TLSDESC_ADR_PREL21,), A_MOVK_G0, A_NOP)
    put((TLSIE_ADR_GOTTPREL_PAGE21,), A_MOVZ_G1_RT, None)
    put((TLSIE_LD64_GOTTPREL_LO12_NC,), A_MOVK_G0_RT, None)
    put((TLSGD_ADR_PREL21,), A_MRS_X1, A_LDR_LIT_IE)
    put((TLSLD_ADR_PAGE21, TLSLD_ADR_PREL21), A_MRS_X0, None)
    put((TLSLD_ADD_LO12_NC,), A_ADD_TCB, None)
    return act


def relax_tls(out, pos, act, tprel, ie_slot, P, tcb_offset=TCB_SIZE):
    """Rewrite the instructions at pos per act (tls_relax_actions).  tprel: the
    variable's TP offset (local exec); ie_slot: the address of its GOT slot
    holding the TP offset (initial exec); P: the instruction's address.
    Returns the mask of relocations handled (their value is written here)."""
    pos = np.asarray(pos, np.int64)
    done = act != A_KEEP
    if not done.any():
        return done
    idx = np.flatnonzero(done)
    a = act[idx]
    old = read32(out, pos[idx])
    w = np.zeros(len(idx), np.uint32)
    tp = np.asarray(tprel, np.int64)[idx]
    slot = np.asarray(ie_slot, np.int64)[idx]
    p = np.asarray(P, np.int64)[idx]
    rt = old & np.uint32(0x1f)

    def do(code, words):
        m = a == code
        if m.any():
            w[m] = words(m)
    do(A_MOVZ_G1, lambda m: _imm16(np.full(m.sum(), MOVZ_X0_G1, np.uint32), tp[m] >> 16))
    do(A_MOVK_G0, lambda m: _imm16(np.full(m.sum(), MOVK_X0, np.uint32), tp[m]))
    do(A_MOVZ_G1_RT, lambda m: _imm16(np.uint32(MOVZ_X0_G1) | rt[m], tp[m] >> 16))
    do(A_MOVK_G0_RT, lambda m: _imm16(np.uint32(MOVK_X0) | rt[m], tp[m]))
    do(A_NOP, lambda m: np.full(m.sum(), NOP, np.uint32))
    do(A_ADRP_IE, lambda m: _imm21(np.uint32(ADRP_X0) | rt[m], (page(slot[m]) - page(p[m])) >> 12))
    do(A_LDR_IE, lambda m: _imm12(np.full(m.sum(), LDR_X0_X0, np.uint32), (slot[m] & 0xfff) >> 3))
    do(A_LDR_LIT_IE, lambda m: (np.uint32(LDR_X0_LIT) | _u32((((slot[m] - p[m]) >> 2) & 0x7ffff) << 5)))
    do(A_MRS_X0, lambda m: np.full(m.sum(), MRS_X0_TP, np.uint32))
    do(A_MRS_X1, lambda m: np.full(m.sum(), MRS_X1_TP, np.uint32))
    do(A_ADD_TCB, lambda m: _imm12(np.full(m.sum(), ADD_X0_X0_IMM, np.uint32), np.full(m.sum(), tcb_offset)))
    write32(out, pos[idx], w)
    return done


def tls_call_words(anchor_typ, to_le, tprel, tcb_offset=TCB_SIZE):
    """The two words replacing `bl __tls_get_addr; nop` after a relaxed GD or
    LD sequence whose anchor (the relocation before the call) has type
    anchor_typ: small GD: mrs x1, tpidr_el0; add x0, x1, x0 (both models);
    tiny GD to LE: add x0, x1, #hi12, lsl #12; add x0, x0, #lo12; small LD:
    nop; nop; tiny LD: add x0, x0, #TCB; nop."""
    t = np.asarray(anchor_typ, np.int64)
    le = np.asarray(to_le, bool)
    tp = np.asarray(tprel, np.int64)
    n = len(t)
    w1 = np.full(n, MRS_X1_TP, np.uint32)
    w2 = np.full(n, ADD_X0_X1_X0, np.uint32)
    m = (t == TLSGD_ADR_PREL21) & le
    w1[m] = _imm12(np.full(m.sum(), 0x91400020, np.uint32), tp[m] >> 12)
    w2[m] = _imm12(np.full(m.sum(), ADD_X0_X0_IMM, np.uint32), tp[m])
    m = t == TLSLD_ADD_LO12_NC
    w1[m] = NOP
    w2[m] = NOP
    m = t == TLSLD_ADR_PREL21
    w1[m] = _imm12(np.full(m.sum(), ADD_X0_X0_IMM, np.uint32), np.full(m.sum(), tcb_offset))
    w2[m] = NOP
    return w1, w2


TLS_CALL_ANCHORS = (TLSGD_ADD_LO12_NC, TLSLD_ADD_LO12_NC, TLSGD_ADR_PREL21, TLSLD_ADR_PREL21)


def tls_sequence_calls(typ, offset, sec_ordinal):
    """The CALL26 to __tls_get_addr after each GD/LD sequence, in a relocation
    table sorted by section and offset: the relocation after the anchor
    (TLS_CALL_ANCHORS), 4 bytes further in the same section.  Returns
    (anchors, calls, ok); ok is False where that call is missing."""
    anchors = np.flatnonzero(isin(typ, TLS_CALL_ANCHORS))
    nxt = anchors + 1
    nx = np.minimum(nxt, max(len(typ) - 1, 0))
    ok = (nxt < len(typ))
    if len(anchors):
        ok &= (typ[nx] == CALL26) & (sec_ordinal[nx] == sec_ordinal[anchors]) & \
            (offset[nx] == offset[anchors] + 4)
    return anchors, nxt, ok


# --------------------------------------------------------------------------
# Range-extension stubs (veneers) for B/BL, placed as ld.bfd places them.
#
# ld.bfd groups the code input sections of each output section, from its
# start: a group grows while the end of its next section stays less than
# STUB_GROUP_SIZE from the group's start; the group's stub section follows
# its last section, and the sections after it that end less than
# STUB_GROUP_SIZE from the stubs use them too.  A branch out of range of its
# target calls a stub in its own group's stub section (one stub per target
# and group).  A stub section is 8-byte aligned and starts with
# `b <past the section>; nop`.  ld.bfd sizes it for long stubs (24 bytes
# each) and then writes each stub in its real size, one after the other:
#     adrp x16, Page(target); add x16, x16, #lo12(target); br x16; (pad)   16 bytes
# or, when the target is beyond ADRP's +-4 GiB from the stub,
#     ldr x16, 1f; adr x17, #0; add x16, x16, x17; br x16; 1: .xword target - (stub + 4)
# Each stub gets a local function symbol "__NAME_veneer".

STUB_GROUP_SIZE = 127 * 1024 * 1024
STUB_SIZE = 24                  # what the section reserves per stub
ADRP_STUB_SIZE = 16
STUB_HEADER = 8
STUB_ALIGN = 8


def branch_in_range(delta):
    delta = np.asarray(delta, np.int64)
    return (delta >= B26R[0]) & (delta <= B26R[1])


def group_sections(starts, ends, group_size=STUB_GROUP_SIZE, stubs_always_after_branch=False):
    """Stub groups of the code input sections of one output section, given
    each one's start and end offset (in section order).  Returns, per input
    section, the index of the section its group's stubs follow."""
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    n = len(starts)
    link = np.full(n, -1, np.int64)
    head = 0
    while head < n:
        # grow: the last section whose end lies < group_size from the group's start
        # (searchsorted over the sorted ends: one probe per group)
        last = int(np.searchsorted(ends, starts[head] + group_size, "left")) - 1
        last = max(last, head)
        link[head:last + 1] = last
        nxt = last + 1
        if not stubs_always_after_branch and nxt < n:
            # sections after the stubs within reach of them join the group
            more = int(np.searchsorted(ends, ends[last] + group_size, "left"))
            more = max(more, nxt)
            link[nxt:more] = last
            nxt = more
        head = nxt
    return link


def stub_section_size(n_stubs):
    return STUB_HEADER + STUB_SIZE * n_stubs if n_stubs else 0


def stub_layout(stub_sec_addr, targets):
    """Addresses and kinds (0 ADRP stub, 1 long stub) of the stubs of one stub
    section, in order."""
    targets = np.asarray(targets, np.int64)
    n = len(targets)
    addrs = stub_sec_addr + STUB_HEADER + ADRP_STUB_SIZE * np.arange(n, dtype=np.int64)
    d = page(targets) - page(addrs)
    kinds = np.where((d >= PG[0]) & (d <= PG[1]), 0, 1).astype(np.int8)
    if kinds.any():
        # a long stub moves the ones after it: lay them out one by one (rare: > 4 GiB)
        at = stub_sec_addr + STUB_HEADER
        for i in range(n):
            addrs[i] = at
            dd = (int(targets[i]) & ~0xfff) - (at & ~0xfff)
            kinds[i] = 0 if PG[0] <= dd <= PG[1] else 1
            at += ADRP_STUB_SIZE if kinds[i] == 0 else STUB_SIZE
    return addrs, kinds


def stub_code(stub_sec_addr, targets):
    """The bytes of one stub section: the branch over it, then each stub."""
    targets = np.asarray(targets, np.int64)
    n = len(targets)
    size = stub_section_size(n)
    code = np.zeros(size // 4, np.uint32)
    if not n:
        return code.view(np.uint8)
    code[0] = 0x14000000 | ((size >> 2) & 0x3ffffff)        # b past the stubs
    code[1] = NOP
    addrs, kinds = stub_layout(stub_sec_addr, targets)
    word = (addrs - stub_sec_addr) // 4
    short = kinds == 0
    a, t = addrs[short], targets[short]
    w = word[short]
    code[w] = _imm21(np.full(len(a), 0x90000010, np.uint32), (page(t) - page(a)) >> 12)
    code[w + 1] = _imm12(np.full(len(a), 0x91000210, np.uint32), t & 0xfff)
    code[w + 2] = 0xd61f0200
    far = ~short
    a, t, w = addrs[far], targets[far], word[far]
    for k, insn in enumerate((0x58000090, 0x10000011, 0x8b110210, 0xd61f0200)):
        code[w + k] = insn
    lit = (t - (a + 4)).astype("<i8").view("<u4").reshape(-1, 2)
    code[w + 4] = lit[:, 0]
    code[w + 5] = lit[:, 1]
    return code.view(np.uint8)


def plan_stubs(group, P, dest, key, addend):
    """For one layout: which branches (each in stub group `group`, at P, going
    to dest = symbol `key` + addend) are out of range, and the stubs they need:
    unique (group, key, addend) rows, one stub per destination and group."""
    need = ~branch_in_range(np.asarray(dest, np.int64) - np.asarray(P, np.int64)) & \
        (np.asarray(group) >= 0)
    rows = np.stack([np.asarray(group, np.int64)[need], np.asarray(key, np.int64)[need],
                     np.asarray(addend, np.int64)[need]], 1)
    return need, np.unique(rows, axis=0) if len(rows) else rows


# --------------------------------------------------------------------------
# Cortex-A53 erratum 843419: an ADRP in one of the last two words of a 4 KiB
# page, followed by a load or store (not a load pair) and then, directly or one
# instruction later, a load/store with an unsigned immediate whose base is the
# ADRP's register.  GNU ld (--fix-cortex-a53-843419, which gcc passes on every
# AArch64 link) rewrites the ADRP into ADR when the address is within +-1 MiB,
# else moves the final load/store into a veneer.


def _bits(x, pos, n):
    return (x >> np.uint32(pos)) & np.uint32((1 << n) - 1)


def _ldst_uimm(insn):
    return (insn & np.uint32(0x3b000000)) == np.uint32(0x39000000)


def _mem_op(insn):
    """(is a load/store, is a pair, is a load) per instruction, as BFD's
    aarch64_mem_op_p classifies them."""
    ldst = (insn & np.uint32(0x0a000000)) == np.uint32(0x08000000)
    ex = (insn & np.uint32(0x3f000000)) == np.uint32(0x08000000)
    pair_ops = np.zeros(len(insn), bool)
    for mask, val in ((0x3b800000, 0x28000000), (0x3b800000, 0x28800000),
                      (0x3b800000, 0x29000000), (0x3b800000, 0x29800000)):
        pair_ops |= (insn & np.uint32(mask)) == np.uint32(val)
    single = np.zeros(len(insn), bool)
    for mask, val in ((0x3b000000, 0x18000000), (0x3b200c00, 0x38000000), (0x3b200c00, 0x38000400),
                      (0x3b200c00, 0x38000800), (0x3b200c00, 0x38000c00), (0x3b200c00, 0x38200800),
                      (0x3b000000, 0x39000000)):
        single |= (insn & np.uint32(mask)) == np.uint32(val)
    simd_m = ((insn & np.uint32(0xbfbf0000)) == np.uint32(0x0c000000)) | \
        ((insn & np.uint32(0xbfa00000)) == np.uint32(0x0c800000))
    simd_m &= isin(_bits(insn, 12, 4), (0, 2, 4, 6, 7, 8, 10))
    simd_s = ((insn & np.uint32(0xbf9f0000)) == np.uint32(0x0d000000)) | \
        ((insn & np.uint32(0xbf800000)) == np.uint32(0x0d800000))
    opc_v = _bits(insn, 22, 2) | (_bits(insn, 26, 1) << np.uint32(2))
    load_single = isin(opc_v, (1, 2, 3, 5, 7)) | ((insn & np.uint32(0x3b000000)) == np.uint32(0x18000000))
    bit22 = _bits(insn, 22, 1) == 1
    pair = (ex & (_bits(insn, 21, 1) == 1)) | (~ex & pair_ops)
    load = np.where(ex | pair_ops | simd_m | simd_s, bit22, load_single)
    is_mem = ldst & (ex | pair_ops | single | simd_m | simd_s)
    return is_mem, pair & is_mem, load & is_mem


def erratum_843419_sites(words, addrs):
    """Erratum sequences in a run of instruction words at addresses addrs
    (one code span).  Returns (adrp index, index of the load/store to move)."""
    words = np.asarray(words, np.uint32)
    addrs = np.asarray(addrs, np.int64)
    n = len(words)
    low = addrs & 0xfff
    cand = np.flatnonzero(((words & np.uint32(0x9f000000)) == np.uint32(0x90000000)) &
                          ((low == 0xff8) | (low == 0xffc)))
    cand = cand[cand + 2 < n]
    if not len(cand):
        return cand, cand
    i2 = words[cand + 1]
    mem, pair, load = _mem_op(i2)
    first = mem & (~pair | ~load)
    rd = words[cand] & np.uint32(0x1f)

    def hits(j):
        ok = j < n
        insn = words[np.minimum(j, n - 1)]
        return ok & first & _ldst_uimm(insn) & (_bits(insn, 5, 5) == rd)
    h3 = hits(cand + 2)
    h4 = hits(cand + 3) & ~h3
    sites = np.concatenate([cand[h3], cand[h4]])
    veneer = np.concatenate([cand[h3] + 2, cand[h4] + 3])
    order = np.argsort(sites, kind="stable")
    return sites[order], veneer[order]


def adrp_to_adr(adrp_words, adrp_addrs, targets):
    """ADR replacements of ADRP xd, Page(target) where the page lies within
    ADR's +-1 MiB (erratum 843419 fix).  Returns (ok mask, new words)."""
    d = page(targets) - np.asarray(adrp_addrs, np.int64)
    ok = (d >= B19R[0]) & (d <= B19R[1])
    w = _imm21((np.asarray(adrp_words, np.uint32) & np.uint32(0x1f)) | np.uint32(0x10000000), d)
    return ok, w


def code_spans(size, map_offsets, map_kinds):
    """The [start, end) ranges of a code section that hold instructions, from
    its mapping symbols ($x / $d, sorted by offset), as BFD reads them for its
    erratum scans.  A section without mapping symbols is not scanned (BFD)."""
    off = np.asarray(map_offsets, np.int64)
    if not len(off):
        return np.zeros((0, 2), np.int64)
    order = np.lexsort((np.asarray(map_kinds), off))
    off, kinds = off[order], np.asarray(map_kinds)[order]
    ends = np.append(off[1:], off[0] + size)
    x = kinds == "x"
    return np.stack([off[x], ends[x]], 1)


# GNU properties: GNU_PROPERTY_AARCH64_FEATURE_1_AND (every input must have a bit)
FEATURE_1_AND = 0xc0000000
FEATURE_1_BTI, FEATURE_1_PAC = 1, 2


def forced_features(file_bits, force_bti):
    """-z force-bti: the output is marked BTI however the inputs are marked;
    returns (bits to OR into the merged FEATURE_1_AND, the inputs that lack
    BTI, which ld.bfd names in a warning: "NAME: warning: BTI turned on by
    -z force-bti when all inputs do not have BTI in NOTE section.")."""
    if not force_bti:
        return 0, []
    return FEATURE_1_BTI, [name for name, bits in file_bits if not bits & FEATURE_1_BTI]


# --------------------------------------------------------------------------
# Inserting the stubs into a laid-out link (default layout).


def _stub_section_class():
    from ldpy.synthetic import Synthetic
    from ldpy.elf.format import SHF_ALLOC, SHF_EXECINSTR

    class StubSection(Synthetic):
        """The stubs of one stub group: a chunk right after the group's last
        input section; its bytes are made when the link writes it (the targets'
        final addresses)."""

        def __init__(self, after, pad_to_page=False):
            super().__init__(after.name + ".stub", flags=SHF_ALLOC | SHF_EXECINSTR, align=STUB_ALIGN)
            self.after = after
            self.rows = []              # (symbol key, addend) of each stub, in order
            self.dest = None            # their destinations (set before writing)
            self.errata = []            # (input section, offset of the load/store moved here)
            self.pad = pad_to_page
            self.data = np.zeros(0, np.uint8)      # (not None: the writer asks bytes() for it)

        def resize(self):
            size = stub_section_size(len(self.rows))
            if self.errata:
                size = (size or STUB_HEADER) + ERRATUM_VENEER_SIZE * len(self.errata)
            if self.pad and size:       # (--fix-cortex-a53-843419: BFD pads stub sections to 4 KiB)
                size = (size + 0xfff) & ~0xfff
            self.size = size

        def stub_addresses(self):
            return stub_layout(self.addr, self.dest)[0]

        def veneer_addresses(self):
            """Where the erratum veneers start: after the branch stubs as written."""
            a, k = stub_layout(self.addr, self.dest)
            end = self.addr + STUB_HEADER + int(np.where(k == 0, ADRP_STUB_SIZE, STUB_SIZE).sum())
            return end + ERRATUM_VENEER_SIZE * np.arange(len(self.errata), dtype=np.int64)

        def bytes(self):
            code = stub_code(self.addr, self.dest)
            if self.errata and not len(code):
                code = np.array([0x14000000 | ((self.size >> 2) & 0x3ffffff), NOP], "<u4").view(np.uint8)
            elif self.pad and len(code):
                code[:4] = np.array([0x14000000 | ((self.size >> 2) & 0x3ffffff)], "<u4").view(np.uint8)
            if len(code) < self.size:
                code = np.concatenate([code, np.zeros(self.size - len(code), np.uint8)])
            return code

    return StubSection


def _stub_groups(ctx, rt):
    """Each relocation section's stub group (the id of the chunk its group's stubs
    follow), from the current layout; and those chunks by id."""
    from ldpy.elf.format import SHF_EXECINSTR
    # --stub-group-size=N: N bytes per group (+-1: the default); negative: stubs only
    # after the branches that use them
    n = int(getattr(ctx.config, "stub_group_size", 1) or 1)
    size = STUB_GROUP_SIZE if abs(n) == 1 else abs(n)
    after_only = n < 0
    group_of = {}
    chunks = {}
    for o in ctx.outputs.sorted():
        if not o.flags & SHF_EXECINSTR:
            continue
        code = [c for c in o.chunks if c.is_input and c.flags & SHF_EXECINSTR
                and c.size]
        if not code:
            continue
        code.sort(key=lambda c: c.out_offset)
        starts = np.fromiter((c.out_offset for c in code), np.int64, len(code))
        ends = starts + np.fromiter((c.size for c in code), np.int64, len(code))
        link = group_sections(starts, ends, size, after_only)
        for c, last in zip(code, link.tolist()):
            group_of[id(c)] = id(code[last])
            chunks[id(code[last])] = code[last]
    sec_group = np.fromiter((group_of.get(id(s), -1) for s in rt.sections), np.int64, len(rt.sections))
    return sec_group, chunks


ERRATUM_VENEER_SIZE = 8         # the moved load/store, then b back


def _mapping_spans(f, sec_index, size, cache):
    """Code spans of one input section from its file's mapping symbols ($x, $d)."""
    spans = cache.get(id(f))
    if spans is None:
        syms = f.symbols[:f.first_global]
        tab = np.frombuffer(f.strtab, np.uint8) if len(f.strtab) else np.zeros(1, np.uint8)
        off = syms["st_name"].astype(np.int64)
        n = len(tab)

        def at(k):
            return tab[np.minimum(off + k, n - 1)]
        is_map = (at(0) == ord("$")) & ((at(1) == ord("x")) | (at(1) == ord("d"))) & \
            ((at(2) == 0) | (at(2) == ord(".")))
        idx = np.flatnonzero(is_map)
        spans = cache[id(f)] = (f.shndx[idx], syms["st_value"][idx].astype(np.int64),
                                np.where(at(1)[idx] == ord("x"), "x", "d"))
    shndx, value, kinds = spans
    m = shndx == sec_index
    return code_spans(size, value[m], kinds[m])


def erratum_sites(ctx, chunks, cache):
    """Erratum 843419 sequences in the laid-out code: (input section, offset of
    the ADRP, offset of the load/store to move), as BFD's scan finds them."""
    found = []
    for c in chunks:
        if c.size < 12:
            continue
        spans = _mapping_spans(c.file, c.index, c.size, cache)
        if not len(spans):
            continue
        data = c.bytes()
        base = c.output.addr + c.out_offset
        for start, end in spans.tolist():
            start = (start + 3) & ~3
            n = (end - start) // 4
            if n < 3:
                continue
            words = np.frombuffer(data[start:start + 4 * n].tobytes(), "<u4")
            sites, ven = erratum_843419_sites(words, base + start + 4 * np.arange(n, dtype=np.int64))
            for a, v in zip(sites.tolist(), ven.tolist()):
                found.append((c, start + 4 * a, start + 4 * v))
    return found


def add_stubs(ctx, relayout, max_rounds=12):
    """Range-extension stubs for B/BL whose destination is beyond +-128 MiB:
    lay the link out, find the branches out of range, add the stubs their
    groups need, lay out again while new ones appear (stubs are never removed,
    as in BFD).  Leaves ctx.stub_sections for writing and relocating."""
    from ldpy.driver import assign_symbol_values
    rt = ctx.relocs
    ctx.stub_sections = []
    ctx.stub_groups = None
    ctx.erratum_adr_sites = []
    fix = getattr(ctx.config, "fix_cortex_a53_843419", None)
    has_rt = rt is not None and not rt.empty
    br = np.flatnonzero(IS_BRANCH[np.minimum(rt.type, NTYPES - 1)] & rt.alloc) if has_rt else \
        np.zeros(0, np.int64)
    from ldpy.elf.format import SHF_EXECINSTR
    code_outs = [o for o in ctx.outputs.sorted() if o.flags & SHF_EXECINSTR and o.size and o.index]
    if code_outs:
        # every branch reaches every destination when all code (the PLT included)
        # spans less than +-128 MiB: no addresses needed
        lo = min(o.addr for o in code_outs)
        hi = max(o.addr + o.size for o in code_outs)
        if hi - lo < B26R[1] - 0x100000:
            br = br[:0]
    if not len(br) and not fix:
        return
    code_chunks = [c for o in code_outs for c in o.chunks
                   if c.is_input and c.flags & SHF_EXECINSTR and c.size]
    if has_rt:
        rt.place()
        sec_group, chunks = _stub_groups(ctx, rt)
        grp = sec_group[rt.sec_ordinal[br]]
    from ldpy.synthetic import insert_after
    StubSection = _stub_section_class()
    by_chunk = {}
    known = set()
    errata_known = set()
    map_cache = {}

    def stub_after(chunk):
        sec = by_chunk.get(id(chunk))
        if sec is None:
            sec = by_chunk[id(chunk)] = StubSection(chunk, fix in ("full", "adrp"))
            insert_after(chunk, sec)
            ctx.stub_sections.append(sec)
        return sec

    for _ in range(max_rounds):
        changed = False
        if len(br):
            rt.place()
            assign_symbol_values(ctx)
            dest = branch_destinations(ctx, rt, br)
            need, rows = plan_stubs(grp, rt.P[br], dest, rt.key[br], rt.addend[br])
            if need.any():
                for g, k, a in rows.tolist():
                    if (g, k, a) not in known:
                        known.add((g, k, a))
                        sec = stub_after(chunks[g])
                        sec.rows.append((k, a))
                        sec.resize()
                        changed = True
        if fix:
            # (sites move with the layout: BFD keeps the veneers of earlier rounds)
            for c, adrp, ldst in erratum_sites(ctx, code_chunks, map_cache):
                if (id(c), ldst) not in errata_known:
                    errata_known.add((id(c), ldst))
                    if fix == "adr":        # (ADR only: no veneers, nothing moves)
                        ctx.erratum_adr_sites.append((c, adrp, ldst))
                        continue
                    sec = stub_after(c)
                    sec.errata.append((c, adrp, ldst))
                    sec.resize()
                    changed = True
        if not changed:
            break
        relayout()
    if len(br):
        ctx.stub_groups = (br, grp)


def stub_symbols(ctx):
    """The local function symbol of each stub, "__NAME_veneer" as ld.bfd names it,
    for .symtab: (name, st_info, function giving (address, output section))."""
    rows = []
    keys = ctx.keys
    for sec in ctx.stub_sections:
        for i, (k, _) in enumerate(sec.rows):
            if k < keys.G:
                name = ctx.symtab.symbols[k].name
            else:
                li = k - keys.G
                f = ctx.files[int(keys.loc_file[li])]
                name = f.symbol_name(li - f.local_base)
            rows.append((b"__" + name + b"_veneer", 2,        # (STB_LOCAL, STT_FUNC)
                         lambda sec=sec, i=i: (int(sec.stub_addresses()[i]), sec.output)))
    return rows


def finish_stubs(ctx):
    """The destinations of every stub, for their bytes and for the branches
    that use them (after the final layout and symbol values)."""
    for sec in ctx.stub_sections:
        keys = np.array([k for k, _ in sec.rows], np.int64)
        add = np.array([a for _, a in sec.rows], np.int64)
        S = ctx.keys.addr[keys].copy()
        plt_keys = ctx.plt.call_keys() if ctx.plt is not None and ctx.plt.size else np.zeros(0, np.int64)
        m = isin(keys, plt_keys) & bool(ctx.config.shared)
        if m.any():
            S[m] = ctx.plt.entry_addresses(keys[m])
        if ctx.iplt is not None and len(ctx.iplt):
            m = isin(keys, ctx.iplt.keys)
            if m.any():
                S[m] = ctx.iplt.entry_addresses(keys[m])
        sec.dest = S + add


def redirect_branches(ctx, rt, idx, P, dest):
    """The stub address each branch idx (out of range of dest) goes through, or
    the destination itself when it is in range or no stub serves it."""
    out = np.asarray(dest, np.int64).copy()
    secs = ctx.stub_sections
    if not secs or ctx.stub_groups is None:
        return out
    br, grp = ctx.stub_groups
    need = ~branch_in_range(out - P)
    if not need.any():
        return out
    # the group of each branch (br is sorted: a searchsorted finds idx in it; br
    # holds the table's row numbers, idx the block's: rt.lo)
    at = np.searchsorted(br, idx[need] + rt.lo)
    g = grp[np.minimum(at, len(br) - 1)]
    q = np.stack([g, rt.key[idx[need]], rt.addend[idx[need]]], 1)
    table, addrs = [], []
    for sec in secs:
        gid = id(sec.after)
        a = sec.stub_addresses()
        for (k, ad), s in zip(sec.rows, a.tolist()):
            table.append((gid, k, ad))
            addrs.append(s)
    table = np.array(table, np.int64).reshape(-1, 3)
    both = np.concatenate([table, q])
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    where = np.full(inv.max() + 1, -1, np.int64)
    where[inv[:len(table)]] = np.arange(len(table))
    hit = where[inv[len(table):]]
    found = hit >= 0
    sel = np.flatnonzero(need)[found]
    out[sel] = np.asarray(addrs, np.int64)[hit[found]]
    return out


def fix_errata(ctx, out):
    """After relocation: each erratum 843419 site's ADRP becomes ADR when its
    page is within ADR's reach (GNU ld's default "full" fix), else the final
    load/store moves to its veneer (relocated as it is) and a branch replaces it;
    the veneer branches back after it."""
    mode = getattr(ctx.config, "fix_cortex_a53_843419", None)
    groups = [(sec.errata, sec.veneer_addresses().tolist(), sec)
              for sec in ctx.stub_sections if sec.errata]
    adr_only = ctx.erratum_adr_sites
    if adr_only:
        groups.append((adr_only, [0] * len(adr_only), None))
    for errata, veneers, sec in groups:
        for (c, adrp, ldst), v in zip(errata, veneers):
            base_pos = c.output.offset + c.out_offset
            base = c.output.addr + c.out_offset
            word = int(read32(out, np.array([base_pos + adrp]))[0])
            if (word & 0x9f000000) != 0x90000000:
                continue                        # (rewritten already: a relaxed TLS sequence)
            imm = ((word >> 5) & 0x7ffff) << 2 | (word >> 29) & 3
            imm -= (imm & (1 << 20)) << 1
            target = ((base + adrp) & ~0xfff) + (imm << 12)
            d = target - (base + adrp)
            if mode in ("full", "adr") and B19R[0] <= d <= B19R[1]:
                write32(out, np.array([base_pos + adrp]), _imm21(np.array([(word & 0x1f) | 0x10000000],
                                                                          np.uint32), np.array([d])))
                continue
            if mode == "adr":
                raise LinkError(f"{c.where(adrp)}: erratum 843419 immediate {d:#x} out of range for "
                                f"ADR (input file too large) and --fix-cortex-a53-843419=adr used; run "
                                f"the linker with --fix-cortex-a53-843419=full instead")
            moved = read32(out, np.array([base_pos + ldst]))
            vpos = sec.output.offset + sec.out_offset + (v - sec.addr)
            back = (base + ldst + 4) - (v + 4)
            write32(out, np.array([vpos, vpos + 4]),
                    np.array([moved[0], 0x14000000 | ((back >> 2) & 0x3ffffff)], np.uint32))
            write32(out, np.array([base_pos + ldst]),
                    np.array([0x14000000 | (((v - (base + ldst)) >> 2) & 0x3ffffff)], np.uint32))


# --------------------------------------------------------------------------
# The target object: the generic kinds of each type, and the hooks the generic
# policy (reloc_policy.py) calls.

from ldpy.arch.base import (Target, register, K_NONE, K_ABS, K_PLT, K_GOT, K_TPOFF,  # noqa: E402
                            K_DTPOFF, K_TLS_GD, K_TLS_LD, K_TLS_IE, K_TLS_DESC, K_TLS_DESC_CALL,
                            B_NONE, B_P, B_GOT, C_NONE)

_KIND_OF = {T_S: K_ABS, T_GOT: K_GOT, T_GD: K_TLS_GD, T_LD: K_TLS_LD, T_IE: K_TLS_IE,
            T_DESC: K_TLS_DESC, T_TP: K_TPOFF, T_DTP: K_DTPOFF, T_NONE: K_NONE}
_BASE_OF = {F_ABS: B_NONE, F_PC: B_P, F_PAGE: B_P, F_GOTREL: B_GOT, F_GOTPAGE: B_GOT}


def _generic_row(name, spec):
    tgt, form, enc, _ = spec
    kind = _KIND_OF[tgt]
    if name in ("CALL26", "JUMP26"):
        kind = K_PLT
    if name in ("TLSDESC_CALL", "TLSDESC_LDR", "TLSDESC_ADD"):
        kind = K_TLS_DESC_CALL
    width = {E_D64: 8, E_D32: 4, E_D16: 2, E_NONE: 0}.get(enc, 4)
    # (overflow checks are the target's: instruction fields have their own ranges)
    return ("R_AARCH64_" + name, kind, _BASE_OF[form], width, C_NONE)


_DYNAMIC_ONLY = ("COPY", "GLOB_DAT", "JUMP_SLOT", "RELATIVE", "TLS_DTPMOD64", "TLS_DTPREL64",
                 "TLS_TPREL64", "TLSDESC", "IRELATIVE")


class AArch64(Target):
    # one block: fix_errata rewrites ADRP sites (and copies instructions into their
    # veneers) once the whole image is relocated
    APPLY_IN_BLOCKS = False
    MACHINE = EM_AARCH64
    NAME = "aarch64"
    IS64, LITTLE, RELA = True, True, True
    EMULATIONS = EMULATIONS
    OUTPUT_FORMAT = "elf64-littleaarch64"
    BFD_ARCH = "aarch64"
    OUTPUT_FORMATS = ("elf64-littleaarch64", "elf64-bigaarch64", "elf64-littleaarch64")
    PAGE_SIZE = MAX_PAGE_SIZE
    EXEC_BASE = EXEC_BASE
    DYNAMIC_LINKER = DYNAMIC_LINKER
    PLT_ENTRY_SIZE = 16
    PLT_HEADER_SIZE = PLT0_SIZE
    GOTPLT_RESERVED = GOTPLT_RESERVED
    GOT_HEADER = 1
    SEPARATE_CODE = False           # (ld.bfd's aarch64linux default: -z noseparate-code)
    MISSING_STACK_NOTE_EXECUTABLE = False   # (ld.bfd: a missing .note.GNU-stack asks for nothing)
    STO_FLAGS = STO_AARCH64_VARIANT_PCS
    DYNSYM_SECTION_SYMBOLS = True
    RELACOUNT_WHEN_NONE = False
    IE_STATIC_TLS_FLAG = False      # (ld.bfd's AArch64 backend does not set DF_STATIC_TLS)
    LAZY_TLSDESC = True             # (DT_TLSDESC_PLT/GOT and the trampoline, as ld.bfd)
    TLSDESC_PLT_SIZE = TLSDESC_PLT_SIZE
    PLT_GOT_ENTRIES = False         # (ld.bfd's AArch64 PLT has no .plt.got)
    NTYPES = NTYPES
    RELOCS = {R[n]: _generic_row(n, s) for n, s in _SPEC.items()} | \
        {R[n]: ("R_AARCH64_" + n, None, B_NONE, 0, C_NONE) for n in _DYNAMIC_ONLY}
    R_NONE = 0
    R_ABS, R_RELATIVE, R_GLOB_DAT, R_JUMP_SLOT, R_COPY, R_IRELATIVE = \
        ABS64, RELATIVE, GLOB_DAT, JUMP_SLOT, COPY, IRELATIVE
    R_DTPMOD, R_DTPOFF, R_TPOFF, R_TLSDESC = TLS_DTPMOD64, TLS_DTPREL64, TLS_TPREL64, TLSDESC

    def __init__(self):
        super().__init__()
        self.TYPE_NAMES[256] = "R_AARCH64_NONE"
        self.SUPPORTED[256] = True
        # ADRP/ADD/LDR pairs are PC-relative however their low half is written:
        # never "absolute 32-bit" (refused in PIE), and the low halves are not
        # pointers to a function (no PLT for them)
        lo12 = (FORM == F_ABS) & (TGT == T_S) & (ENC != E_D64) & (ENC != E_D32) & (ENC != E_D16) & \
            ~((ENC >= E_MOVW0) & (ENC <= E_SMOVW2))
        self.IS_ABS_NARROW32 &= ~lo12
        self.IS_PC32 &= ENC == E_D32
        # absolute MOVW groups cannot be relocated at load time
        self.IS_ABS_NARROW32 |= (TGT == T_S) & (FORM == F_ABS) & (ENC >= E_MOVW0) & (ENC <= E_SMOVW2)

    def code_fill(self, n):
        return code_fill(n)

    def after_layout(self, ctx, relayout):
        """Range-extension stubs and erratum 843419 veneers (the layout is final after)."""
        add_stubs(ctx, relayout)
        if ctx.stub_sections:
            if ctx.symtab_sec is not None:
                ctx.symtab_sec.add_locals(stub_symbols(ctx))
                relayout()
            from ldpy.driver import assign_symbol_values
            assign_symbol_values(ctx)
            finish_stubs(ctx)

    def adjust_properties(self, ctx, props):
        """-z force-bti marks the output BTI whatever the inputs say, and names
        the inputs without the mark in a warning (ld.bfd)."""
        if not ctx.config.force_bti:
            return
        from ldpy.synthetic.notes import file_properties
        from ldpy.diag import diag
        bits, missing = forced_features(
            [(f.name, file_properties(f).get(FEATURE_1_AND, 0)) for f in ctx.files
             if hasattr(f, "sections")], True)
        for name in missing:
            diag.warn(f"{name}: warning: BTI turned on by -z force-bti when all inputs do not have "
                      f"BTI in NOTE section.")
        props[FEATURE_1_AND] = props.get(FEATURE_1_AND, 0) | bits

    def plt_setup(self, ctx, props):
        """BTI entries when the output is marked BTI (with bti c in each entry only
        in executables that are not PIE), PAC entries with -z pac-plt."""
        cfg = ctx.config
        bti = bool(props.get(FEATURE_1_AND, 0) & FEATURE_1_BTI)
        pac = bool(cfg.pac_plt)
        pde = not (cfg.pie or cfg.shared)
        ctx.plt.entry_size = ctx.iplt.entry_size = plt_entry_size(bti, pac, pde)
        ctx.aarch64_plt = (bti, pac)
        return dict(bti=bti, pac=pac, pde=pde)

    def dynamic_tags(self, ctx):
        """DT_AARCH64_BTI_PLT / DT_AARCH64_PAC_PLT when the PLT has those entries;
        DT_AARCH64_VARIANT_PCS when one of them calls a function of the variant
        procedure call standard (the loader must then bind it at load time: the
        lazy resolver would clobber registers that standard preserves)."""
        bti, pac = ctx.aarch64_plt
        if not (ctx.plt is not None and ctx.plt.size):
            return ()
        from ldpy.symbols import st_other_flags
        variant = any(st_other_flags(s, STO_AARCH64_VARIANT_PCS) for s in ctx.plt.imports)
        return ([(DT_AARCH64_BTI_PLT, 0)] if bti else []) + ([(DT_AARCH64_PAC_PLT, 0)] if pac else []) + \
            ([(DT_AARCH64_VARIANT_PCS, 0)] if variant else [])

    def gotplt_lazy_values(self, plt, n):
        """Lazy .got.plt slots point at PLT0 (the resolver takes x16 = &slot)."""
        return np.full(n, plt.addr, np.int64)

    # PLT templates (synthetic/plt.py, write.py)
    def plt_entry(self, slot_addr, entry_addr, **_):
        """One IPLT entry of a static link."""
        return plt_entries([entry_addr], [slot_addr]).tobytes()

    def plt_lazy(self, plt_addr, gotplt_addr, slots, n_lazy, n_iplt, bti=False, pac=False, pde=True, **_):
        """PLT0, then the entries of imported functions and of local IFUNCs."""
        n = n_lazy + n_iplt
        size = plt_entry_size(bti, pac, pde)
        entries = plt_addr + PLT0_SIZE + size * np.arange(n, dtype=np.int64)
        return np.concatenate([plt_header(plt_addr, gotplt_addr, bti),
                               plt_entries(entries, np.asarray(slots, np.int64)[:n], bti, pac, pde)])

    def tlsdesc_plt_entry(self, entry_addr, gotplt_addr, tlsdesc_got_addr, bti=False):
        return tlsdesc_plt_entry(entry_addr, gotplt_addr, tlsdesc_got_addr, bti)

    def tp_base(self, ctx):
        return tp_base(ctx.tls_start, ctx.tls_align)

    def relax(self, ctx, rt, S, A, val, width, out):
        apply_fields(ctx, rt, S, A, val, width, out)


def apply_fields(ctx, rt, S, A, val, width, out):
    """AArch64's share of apply: the values the generic X + A - B does not give
    (pages, TP offsets), TLS relaxations, stubs, overflow checks and the
    instruction field encodings; the generic store then writes only data words."""
    typ, P, key = rt.type, rt.P, rt.key
    plan = rt.plan
    tt = np.minimum(typ, NTYPES - 1)
    enc = ENC[tt]
    form = FORM[tt]
    kind = plan.kind
    cfg = ctx.config
    skip = plan.skip.copy()
    SA = S + A
    tpb = tp_base(ctx.tls_start, ctx.tls_align)
    # TP offsets: AArch64's thread pointer is before the TLS block (variant I); an
    # undefined (weak) TLS symbol is at offset 0 (ld.bfd; reloc_policy.apply)
    tprel = np.where(ctx.keys.defined[key], SA - tpb, A)
    m = kind == K_TPOFF
    val[m] = tprel[m]
    # pages: Page(X + A) - Page(P) for ADRP (X + A - P came from the generic formula)
    m = form == F_PAGE
    val[m] = page(val[m] + P[m]) - page(P[m])
    m = form == F_GOTPAGE
    val[m] = val[m] + ctx.got_base_addr - page(ctx.got_base_addr)
    # TLS in executables: GD, LD and descriptors relaxed to IE or LE, IE to LE
    done = np.zeros(len(typ), bool)
    if not cfg.shared and IS_TLS[tt].any():
        tls_kinds = (kind == K_TLS_GD) | (kind == K_TLS_LD) | (kind == K_TLS_DESC) | \
            (kind == K_TLS_DESC_CALL) | (kind == K_TLS_IE)
        to_ie = (plan.gd_to_ie | plan.desc_to_ie) & tls_kinds
        to_le = tls_kinds & ~to_ie & ~plan.ie_keep
        # a variable of the executable seen through the tiny IE form: no relaxation in
        # ld.bfd, and no GOT slot here yet
        bad = to_le & isin(typ, (TLSIE_LD_GOTTPREL_PREL19, TLSIE_MOVW_GOTTPREL_G1,
                                    TLSIE_MOVW_GOTTPREL_G0_NC, TLSGD_MOVW_G1, TLSGD_MOVW_G0_NC,
                                    TLSLD_MOVW_G1, TLSLD_MOVW_G0_NC, TLSDESC_OFF_G1,
                                    TLSDESC_OFF_G0_NC, TLSDESC_LDR, TLSDESC_ADD, TLSLD_LD_PREL19))
        if bad.any():
            k = int(np.argmax(bad))
            raise LinkError(f"{rt.where(k)}: {type_name(typ[k])} in an executable is not supported yet")
        slot = np.zeros(len(typ), np.int64)
        if to_ie.any():
            slot[to_ie] = ctx.got.slot_addresses(key[to_ie])
        act = tls_relax_actions(typ, to_le, to_ie)
        tcb = ctx.tls_start - tpb
        done = relax_tls(out, rt.pos, act, tprel, slot, P, tcb)
        anchors, calls, ok = tls_sequence_calls(typ, rt.offset, rt.sec_ordinal)
        relaxed = act[anchors] != A_KEEP if len(anchors) else np.zeros(0, bool)
        anchors, calls, ok = anchors[relaxed], calls[relaxed], ok[relaxed]
        if not ok.all():
            k = int(anchors[np.argmin(ok)])
            raise LinkError(f"{rt.where(k)}: {type_name(typ[k])} is not followed by a call to "
                            f"__tls_get_addr")
        if len(anchors):
            w1, w2 = tls_call_words(typ[anchors], to_le[anchors], tprel[anchors], tcb)
            write32(out, rt.pos[calls], w1)
            write32(out, rt.pos[calls] + 4, w2)
            done[calls] = True
        width[done] = 0
    # branches beyond +-128 MiB go through their group's stub
    br = np.flatnonzero((enc == E_B26) & ~done & ~skip)
    if len(br):
        dest = val[br] + P[br]
        val[br] = redirect_branches(ctx, rt, br, P[br], dest) - P[br]
    # overflow checks, then the instruction fields
    live = ~done & ~skip
    bad = live & overflows(tt, val)
    if bad.any():
        from ldpy.checks import report_overflows
        idx = np.flatnonzero(bad)
        report_overflows(ctx, rt, idx, val[idx], [field_text(tt[k], val[k]) for k in idx[:1000]],
                         type_name)
    insn = live & (enc != E_NONE) & (enc != E_D64) & (enc != E_D32) & (enc != E_D16)
    if insn.any():
        store(out, rt.pos[insn], tt[insn], val[insn])
    width[insn] = 0
    fix_errata(ctx, out)


TARGET = register(AArch64())
