# flashsale_add_plugin(<family> SOURCES <files...> [LIBRARIES <targets...>])
#
# Builds the backend family <family> as the shared object
# <plugin dir>/flashsale-<family>.so, the file name the host looks for
# (<plugin dir>: FLASHSALE_PLUGIN_OUTPUT_DIR, else the current binary dir). Symbols
# are hidden except the one descriptor FLASHSALE_PLUGIN exports, and every
# symbol must resolve at link time, so a broken plugin fails to build rather
# than to load. When FLASHSALE_PLUGIN_INSTALL_DIR is set, `cmake --install`
# puts the plugin there (relative: under the install prefix).
#
# The same file serves the tree (included by the top-level CMakeLists.txt)
# and plugins built out of tree (included by find_package(flashsale), which
# also makes flashsale::api): the flags are the same in both.
function(flashsale_add_plugin family)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT TARGET flashsale::api)
    message(FATAL_ERROR "flashsale_add_plugin(${family}): there is no flashsale::api target; "
                        "call find_package(flashsale REQUIRED) first")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "flashsale_add_plugin(${family}): no SOURCES")
  endif()
  set(target flashsale_plugin_${family})
  if(NOT FLASHSALE_PLUGIN_OUTPUT_DIR)
    set(FLASHSALE_PLUGIN_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})  # out of tree: beside the build's other outputs
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME flashsale-${family}
    LIBRARY_OUTPUT_DIRECTORY ${FLASHSALE_PLUGIN_OUTPUT_DIR}
    CXX_EXTENSIONS OFF
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE flashsale::api ${ARG_LIBRARIES})
  # The version script exports the descriptor alone: hidden visibility does
  # not reach the std templates a debug build leaves out of line (libstdc++
  # declares them visible). --exclude-libs: the static flashsale::api linked
  # in stays private too.
  set(exports ${CMAKE_CURRENT_BINARY_DIR}/flashsale-${family}.exports)
  file(WRITE ${exports} "{ global: flashsale_plugin; local: *; };\n")
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--exclude-libs,ALL -Wl,--version-script=${exports})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${exports})
  if(FLASHSALE_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${FLASHSALE_PLUGIN_INSTALL_DIR})
    set_property(GLOBAL APPEND PROPERTY FLASHSALE_INSTALLED_PLUGINS ${target})
  endif()
endfunction()
