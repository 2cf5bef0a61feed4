module bench.example/cold116

go 1.21
