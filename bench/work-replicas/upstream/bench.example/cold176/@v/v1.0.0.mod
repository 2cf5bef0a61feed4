module bench.example/cold176

go 1.21
