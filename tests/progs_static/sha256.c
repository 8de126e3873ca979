#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
int main(){ unsigned char md[32]; unsigned int n; EVP_MD_CTX *c = EVP_MD_CTX_new();
EVP_DigestInit_ex(c, EVP_sha256(), NULL); EVP_DigestUpdate(c, "abc", 3); EVP_DigestFinal_ex(c, md, &n);
for (unsigned i=0;i<n;i++) printf("%02x", md[i]); printf("\n"); EVP_MD_CTX_free(c); return 0; }
