module bench.example/cold280

go 1.21
