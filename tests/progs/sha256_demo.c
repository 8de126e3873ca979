/* Static link against OpenSSL's libcrypto.a: SHA-256 through EVP. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void digest(const char *name, const char *msg)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_get_digestbyname(name), NULL) ||
        !EVP_DigestUpdate(ctx, msg, strlen(msg)) || !EVP_DigestFinal_ex(ctx, md, &len)) {
        printf("%s failed\n", name);
        return;
    }
    EVP_MD_CTX_free(ctx);
    printf("%s(\"%s\")=", name, msg);
    for (unsigned int i = 0; i < len; i++)
        printf("%02x", md[i]);
    printf("\n");
}

int main(void)
{
    digest("SHA256", "abc");
    digest("SHA256", "");
    digest("SHA256", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    digest("SHA1", "abc");
    digest("MD5", "abc");
    return 0;
}
