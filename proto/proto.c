#include "proto/proto.h"

#include <msgpack.h>

const char *proto_msgpack_version(void)
{
    return msgpack_version();
}
