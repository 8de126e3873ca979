"""Notes the linker writes: .note.gnu.build-id."""
import hashlib
import os
import struct

import numpy as np

from ldpy.diag import LinkError
from ldpy.elf.format import SHT_NOTE, SHF_ALLOC, NT_GNU_BUILD_ID
from ldpy.synthetic import Synthetic


class BuildIdNote(Synthetic):
    def __init__(self, style):
        super().__init__(".note.gnu.build-id", type_=SHT_NOTE, flags=SHF_ALLOC, align=4)
        self.style = style
        if style in ("sha1", "tree"):
            self.desc_size = 20
        elif style in ("md5", "uuid", "fast"):
            self.desc_size = 16
        elif style.startswith("0x"):
            try:
                self.fixed = bytes.fromhex(style[2:])
            except ValueError:
                raise LinkError(f"--build-id: bad hexadecimal value '{style}'")
            self.desc_size = len(self.fixed)
        else:
            raise LinkError(f"--build-id: unknown style '{style}'")
        self.size = 16 + self.desc_size
        self.data = np.frombuffer(struct.pack("<III", 4, self.desc_size, NT_GNU_BUILD_ID) + b"GNU\0"
                                  + b"\0" * self.desc_size, np.uint8)

    def finalize(self, image, file_offset):
        """Hash the finished image and store the id in place."""
        if self.style in ("sha1", "tree"):
            digest = hashlib.sha1(image).digest()
        elif self.style == "md5" or self.style == "fast":
            digest = hashlib.md5(image).digest()
        elif self.style == "uuid":
            digest = os.urandom(16)
        else:
            digest = self.fixed
        start = file_offset + 16
        image[start:start + self.desc_size] = digest
