# Finds the six libraries swarm links. Each missing one stops the configure step with the Debian
# package that provides it, so a newcomer knows what to install.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
    message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(swarm_require_pkg var module debpkg)
    pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
    if(NOT ${var}_FOUND)
        message(FATAL_ERROR "${module} not found (pkg-config '${module}'): apt-get install ${debpkg}")
    endif()
    message(STATUS "Found ${module} ${${var}_VERSION}")
endfunction()

swarm_require_pkg(SODIUM libsodium libsodium-dev)
# msgpack-c 4.0 in Debian: library msgpackc, pkg-config name 'msgpack'.
swarm_require_pkg(MSGPACK msgpack libmsgpack-dev)
swarm_require_pkg(LIBUV libuv libuv1-dev)
# libcurl: its headers only; `swarm bench` loads the library at run time (manager/curl_runtime.h).
swarm_require_pkg(CURL libcurl libcurl4-openssl-dev)
swarm_require_pkg(JANSSON jansson libjansson-dev)

# http-parser ships no pkg-config file in Debian.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h)
find_library(HTTP_PARSER_LIBRARY http_parser)
if(NOT HTTP_PARSER_INCLUDE_DIR OR NOT HTTP_PARSER_LIBRARY)
    message(FATAL_ERROR "http-parser not found (http_parser.h, libhttp_parser): "
                        "apt-get install libhttp-parser-dev")
endif()
add_library(swarm_http_parser INTERFACE)
target_include_directories(swarm_http_parser INTERFACE ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(swarm_http_parser INTERFACE ${HTTP_PARSER_LIBRARY})
message(STATUS "Found http-parser ${HTTP_PARSER_LIBRARY}")

# Each shared library a process maps costs it resident pages (its relocations, GOT and data)
# whatever it uses of it; from a static archive only the code swarm calls is linked. The agent
# runs on every Docker host, small ones too, so by default the five libraries are linked from
# Debian's archives (their -dev packages ship them) and only libc stays shared. The headers and
# versions are the ones pkg-config found above.
option(SWARM_STATIC_DEPS "link libsodium, libuv, msgpack-c, jansson and http-parser statically" ON)
if(SWARM_STATIC_DEPS)
    find_package(Threads REQUIRED)
    function(swarm_use_archive target)
        find_library(_archive NAMES ${ARGN} NO_CACHE)
        if(NOT _archive)
            message(FATAL_ERROR "SWARM_STATIC_DEPS: none of ${ARGN} found "
                                "(configure with -DSWARM_STATIC_DEPS=OFF to link shared libraries)")
        endif()
        set_property(TARGET ${target} PROPERTY INTERFACE_LINK_LIBRARIES ${_archive} Threads::Threads
                                                                    ${CMAKE_DL_LIBS})
        message(STATUS "Linking ${_archive}")
    endfunction()
    swarm_use_archive(PkgConfig::SODIUM libsodium.a)
    swarm_use_archive(PkgConfig::MSGPACK libmsgpackc.a)
    swarm_use_archive(PkgConfig::LIBUV libuv_a.a libuv.a)
    swarm_use_archive(PkgConfig::JANSSON libjansson.a)
    swarm_use_archive(swarm_http_parser libhttp_parser.a)
endif()
