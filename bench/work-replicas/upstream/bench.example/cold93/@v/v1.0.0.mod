module bench.example/cold93

go 1.21
