# Records the git commit in the binary at build time (not configure time), so `swarm version`
# names the commit it was built from even after later commits in the same build directory.
set(SWARM_GITVERSION_C ${CMAKE_BINARY_DIR}/gitversion.c)
add_custom_target(swarm_gitversion
    COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${SWARM_GITVERSION_C}
            -DVERSION=${PROJECT_VERSION} -P ${CMAKE_SOURCE_DIR}/cmake/WriteGitVersion.cmake
    BYPRODUCTS ${SWARM_GITVERSION_C}
    COMMENT "Recording git commit")
