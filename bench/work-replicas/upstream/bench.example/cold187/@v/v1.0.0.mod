module bench.example/cold187

go 1.21
