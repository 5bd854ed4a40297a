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
endfunction()
