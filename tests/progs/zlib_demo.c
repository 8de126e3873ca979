/* Static link against libz.a: compress/uncompress round trip and crc32. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
    const char *fox = "The quick brown fox jumps over the lazy dog";
    printf("crc32=%08lx\n", (unsigned long)crc32(0L, (const Bytef *)fox, (uInt)strlen(fox)));
    printf("adler32=%08lx\n", (unsigned long)adler32(1L, (const Bytef *)fox, (uInt)strlen(fox)));

    static unsigned char src[100000], packed[120000], unpacked[100000];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)("ldpy links static executables "[i % 30] ^ (i / 1000));
    uLongf packed_len = sizeof packed, unpacked_len = sizeof unpacked;
    if (compress2(packed, &packed_len, src, sizeof src, 9) != Z_OK) {
        printf("compress failed\n");
        return 1;
    }
    if (uncompress(unpacked, &unpacked_len, packed, packed_len) != Z_OK) {
        printf("uncompress failed\n");
        return 1;
    }
    printf("round trip ok=%d len=%lu smaller=%d\n", unpacked_len == sizeof src && !memcmp(src, unpacked, sizeof src),
           (unsigned long)unpacked_len, packed_len < sizeof src / 10);
    printf("crc32 data=%08lx\n", (unsigned long)crc32(0L, unpacked, (uInt)unpacked_len));
    return 0;
}
