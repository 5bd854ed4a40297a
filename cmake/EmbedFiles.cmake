# motorpool_embed_files(<output.cpp> <namespace> <array name> FILES f1 f2 ...)
# Generates a translation unit holding each file's name and contents, so the binary
# carries its migrations and documents with no file lookups at run time.
function(motorpool_embed_files output ns array_name)
  cmake_parse_arguments(ARG "" "BASE" "FILES" ${ARGN})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DNS=${ns} -DARRAY=${array_name}
            -DBASE=${ARG_BASE} "-DFILES=${ARG_FILES}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_files_script.cmake
    DEPENDS ${ARG_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_files_script.cmake
    COMMENT "Embedding ${array_name}"
    VERBATIM)
  # A file is one string literal, however long (clang's -Wpedantic names C++'s 65,536-character floor).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set_source_files_properties(${output} PROPERTIES COMPILE_OPTIONS "-Wno-overlength-strings")
  endif()
endfunction()
