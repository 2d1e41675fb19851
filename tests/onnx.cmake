# ONNX export (docs/onnx.md), label onnx: `ctest -L onnx`. Included by tests/CMakeLists.txt
# where the programs are built.
#   onnx_checker        Debian's python3-onnx checks every exported model and evaluates it
#                       with numpy (skipped, saying so, without the module onnx)
#   onnx_tool           nobias-export's refusals and its atomic replacement of --onnx
#   onnxruntime_install fixture: npm's onnxruntime-node, pinned, into the build tree, once
#                       (skipped, saying so, without npm or node)
#   onnxruntime         the models run by onnxruntime agree with nobias-predict
set(onnx_test ${NOBIAS_PYTHON_INTERPRETER} ${CMAKE_CURRENT_SOURCE_DIR}/onnx_test.py
              --bin-dir $<TARGET_FILE_DIR:nobias-train>)
set(onnx_runtime_dir ${CMAKE_CURRENT_BINARY_DIR}/onnxruntime)
add_test(NAME onnx_checker COMMAND ${onnx_test} CheckerTest)
add_test(NAME onnx_tool COMMAND ${onnx_test} ToolTest)
add_test(NAME onnxruntime_install
         COMMAND ${NOBIAS_PYTHON_INTERPRETER} ${CMAKE_CURRENT_SOURCE_DIR}/install_onnxruntime.py
                 ${onnx_runtime_dir})
add_test(NAME onnxruntime COMMAND ${onnx_test} --ort ${onnx_runtime_dir} RuntimeTest)
set_tests_properties(onnx_checker onnx_tool onnxruntime_install onnxruntime
                     PROPERTIES LABELS onnx SKIP_RETURN_CODE 77)
# npm's download is the slow part (about 20 s); later runs find the package and return.
set_tests_properties(onnxruntime_install PROPERTIES FIXTURES_SETUP onnxruntime TIMEOUT 600)
set_tests_properties(onnxruntime PROPERTIES FIXTURES_REQUIRED onnxruntime)
