# The layers of src/: LAYER_<folder> lists the folders whose headers <folder> may include (and
# whose libraries it links). The one place that says what may use what: cmake/layering.cmake
# checks every include against it on each build, and CMakeLists.txt builds one library per
# folder from it. To add a folder or an arrow, edit this table (and keep it acyclic).
set(LAYER_domain "")
set(LAYER_common domain)
set(LAYER_platform common domain)
set(LAYER_scheduler common domain)
set(LAYER_state common domain)
set(LAYER_branching common domain)
set(LAYER_storage common domain platform)
set(LAYER_postgres common domain platform)
set(LAYER_masking common domain platform postgres)
set(LAYER_config common domain masking postgres scheduler)
set(LAYER_ops common config domain postgres)
set(LAYER_retrieval common config domain masking platform postgres state storage)
set(LAYER_cloning common domain platform postgres state storage)
set(LAYER_api branching common domain ops)
set(LAYER_engine
    api branching cloning common config domain masking ops platform postgres retrieval scheduler
    state storage)
set(LAYER_client branching common domain)
set(LAYER_cli client common domain)
# From the bottom up: the order of the graph in docs.
set(LAYERS
    domain common platform scheduler state branching storage postgres masking config ops
    retrieval cloning api engine client cli)
