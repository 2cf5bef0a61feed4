module bench.example/cold242

go 1.21
