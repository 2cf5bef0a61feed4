module bench.example/cold126

go 1.21
