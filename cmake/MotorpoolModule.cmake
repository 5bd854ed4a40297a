# motorpool_add_module(<name> SOURCES a.cpp ... [DEPS core db ...] [LIBS <targets>...])
# One static library per feature module: PUBLIC include/, PRIVATE module directory,
# our warning set linked privately.
function(motorpool_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  add_library(motorpool_${name} STATIC ${ARG_SOURCES})
  add_library(motorpool::${name} ALIAS motorpool_${name})
  target_include_directories(motorpool_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  foreach(dep IN LISTS ARG_DEPS)
    target_link_libraries(motorpool_${name} PUBLIC motorpool::${dep})
  endforeach()
  if(ARG_LIBS)
    target_link_libraries(motorpool_${name} PUBLIC ${ARG_LIBS})
  endif()
  target_link_libraries(motorpool_${name} PRIVATE motorpool::warnings)
  motorpool_use_pch(motorpool_${name})
endfunction()

# motorpool_use_pch(<target> [FROM <pch target>]): the project's precompiled header
# (motorpool_pch, src/boost/CMakeLists.txt; the tests': motorpool_test_pch) for a target.
function(motorpool_use_pch target)
  cmake_parse_arguments(ARG "" "FROM" "" ${ARGN})
  if(NOT ARG_FROM)
    set(ARG_FROM motorpool_pch)
  endif()
  if(MOTORPOOL_PCH)
    target_precompile_headers(${target} REUSE_FROM ${ARG_FROM})
  endif()
endfunction()

# A module's own migrations: migrations/{sqlite,postgres}/NNNN_name.sql beside its CMakeLists.txt,
# embedded into motorpool_<name> and returned, ordered, by <ns>::migrations(dialect) (declared in
# the module's public header; db::migrate records them by (module, version)).
function(motorpool_add_migrations name ns)
  file(GLOB files CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/migrations/sqlite/*.sql
    ${CMAKE_CURRENT_SOURCE_DIR}/migrations/postgres/*.sql)
  set(embedded ${CMAKE_CURRENT_BINARY_DIR}/${name}_migration_files.cpp)
  motorpool_embed_files(${embedded} ${ns}::generated kMigrationFiles
    BASE ${CMAKE_CURRENT_SOURCE_DIR}/migrations
    FILES ${files})
  set(MODULE ${name})
  set(NS ${ns})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/module_migrations.cpp.in
    ${CMAKE_CURRENT_BINARY_DIR}/${name}_migrations.cpp @ONLY)
  target_sources(motorpool_${name} PRIVATE ${embedded} ${CMAKE_CURRENT_BINARY_DIR}/${name}_migrations.cpp)
endfunction()
