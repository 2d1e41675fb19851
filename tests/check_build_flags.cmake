# Checks how nobias's own sources are compiled when the build type is left empty or chosen:
#   cmake -DNOBIAS_SOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... [-DEXTRA_OPTIONS=a;b] -P this
# It only configures (compile_commands.json is written then) and reads the commands CMake
# generated; nothing is built or timed.
#   1. tests/consumers/subdirectory with no build type: every lib/ source gets an -O flag,
#      while the consumer's own source gets none (the proof that the build type was empty).
#   2. The same consumer in Debug: no lib/ source is optimised except kernels.cpp,
#      optimizer_update.cpp and dgemm_avx512.cpp, which are -O3 at every build type on purpose
#      (lib/CMakeLists.txt): a Debug build stays Debug.
#   3. nobias on its own with no build type: the cache says Release.
cmake_minimum_required(VERSION 3.25)
foreach(required NOBIAS_SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "check_build_flags: -D${required}=... is required")
  endif()
endforeach()

# configure(dir source option...): a fresh configure with compile_commands.json.
function(configure dir source)
  file(REMOVE_RECURSE ${dir})
  # CMAKE_BUILD_TYPE from the environment would otherwise fill an empty build type.
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env --unset=CMAKE_BUILD_TYPE
            ${CMAKE_COMMAND} -S ${source} -B ${dir} -G ${GENERATOR}
            -DCMAKE_EXPORT_COMPILE_COMMANDS=ON ${EXTRA_OPTIONS} ${ARGN}
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "check_build_flags: configuring ${source} failed:\n${output}")
  endif()
endfunction()

# commands(dir out_lib out_other): the compile commands of lib/ sources and of the others,
# as lists of "file|command".
function(commands dir out_lib out_other)
  file(READ ${dir}/compile_commands.json json)
  string(JSON count LENGTH "${json}")
  set(lib_entries "")
  set(other_entries "")
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON file GET "${json}" ${i} file)
    string(JSON command GET "${json}" ${i} command)
    if(file MATCHES "^${NOBIAS_SOURCE_DIR}/lib/")
      list(APPEND lib_entries "${file}|${command}")
    else()
      list(APPEND other_entries "${file}|${command}")
    endif()
  endforeach()
  set(${out_lib} "${lib_entries}" PARENT_SCOPE)
  set(${out_other} "${other_entries}" PARENT_SCOPE)
endfunction()

set(optimised_regex " -O([1-3]|s|fast)( |$)")
set(failures "")

# 1. Vendored, no build type.
configure(${WORK_DIR}/no-build-type ${NOBIAS_SOURCE_DIR}/tests/consumers/subdirectory
          -DNOBIAS_SOURCE_DIR=${NOBIAS_SOURCE_DIR} -DCMAKE_BUILD_TYPE=)
commands(${WORK_DIR}/no-build-type lib_entries other_entries)
list(LENGTH lib_entries lib_count)
if(lib_count LESS 5)
  string(APPEND failures "no build type: only ${lib_count} lib/ sources in compile_commands.json\n")
endif()
foreach(entry IN LISTS lib_entries)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 file)
  list(GET parts 1 command)
  if(NOT command MATCHES "${optimised_regex}")
    string(APPEND failures "no build type: ${file} compiled without optimisation: ${command}\n")
  endif()
endforeach()
set(consumer_seen FALSE)
foreach(entry IN LISTS other_entries)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 file)
  list(GET parts 1 command)
  if(file MATCHES "consumer\\.cpp$")
    set(consumer_seen TRUE)
    if(command MATCHES " -O")
      string(APPEND failures "no build type: the consumer itself got an -O flag, so the "
                             "build type was not empty: ${command}\n")
    endif()
  endif()
endforeach()
if(NOT consumer_seen)
  string(APPEND failures "no build type: consumer.cpp missing from compile_commands.json\n")
endif()

# 2. Vendored, Debug.
configure(${WORK_DIR}/debug ${NOBIAS_SOURCE_DIR}/tests/consumers/subdirectory
          -DNOBIAS_SOURCE_DIR=${NOBIAS_SOURCE_DIR} -DCMAKE_BUILD_TYPE=Debug)
commands(${WORK_DIR}/debug lib_entries other_entries)
foreach(entry IN LISTS lib_entries)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 file)
  list(GET parts 1 command)
  if(command MATCHES "${optimised_regex}" AND NOT file MATCHES "/(kernels|optimizer_update|dgemm_avx512)\\.cpp$")
    string(APPEND failures "Debug: ${file} compiled optimised: ${command}\n")
  endif()
endforeach()

# 3. Top level, no build type: Release.
configure(${WORK_DIR}/top-level ${NOBIAS_SOURCE_DIR} -DCMAKE_BUILD_TYPE= -DNOBIAS_TESTS=OFF
          -DNOBIAS_BENCH=OFF -DNOBIAS_TOOLS=OFF -DNOBIAS_INSTALL=OFF)
file(STRINGS ${WORK_DIR}/top-level/CMakeCache.txt build_type REGEX "^CMAKE_BUILD_TYPE:")
if(NOT build_type MATCHES "=Release$")
  string(APPEND failures "top level, no build type: expected CMAKE_BUILD_TYPE Release, "
                         "the cache has '${build_type}'\n")
endif()

if(failures)
  message(FATAL_ERROR "check_build_flags:\n${failures}")
endif()
message(STATUS "check_build_flags: no build type -> ${lib_count} lib/ sources optimised, "
               "the consumer not; Debug stays Debug; top level defaults to Release")
