# flashsale_add_plugin(<family> SOURCES <files...> [LIBRARIES <targets...>])
#
# Builds the backend family <family> as the shared object
# <plugin dir>/flashsale-<family>.so, the file name the host looks for
# (<plugin dir>: FLASHSALE_PLUGIN_OUTPUT_DIR, else the current binary dir). Symbols
# are hidden except the one descriptor FLASHSALE_PLUGIN exports, and every
# symbol must resolve at link time, so a broken plugin fails to build rather
# than to load.
function(flashsale_add_plugin family)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target flashsale_plugin_${family})
  if(NOT FLASHSALE_PLUGIN_OUTPUT_DIR)
    set(FLASHSALE_PLUGIN_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})  # out of tree: beside the build's other outputs
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME flashsale-${family}
    LIBRARY_OUTPUT_DIRECTORY ${FLASHSALE_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE flashsale::api ${ARG_LIBRARIES})
  # --exclude-libs: the static flashsale::api linked in stays private too.
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--exclude-libs,ALL)
endfunction()
