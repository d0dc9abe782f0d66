/* stb_image and stb_image_write compiled from Debian's headers (the same v2.27 source as its
 * libstb), so the image fuzzer's coverage and ASan reach into the decoders. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
